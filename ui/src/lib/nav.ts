/**
 * The workstation's screens: their order in the left navigation, their routes and their labels.
 * One entry per route folder `src/routes/<id>/` (nav.test.ts checks both directions).
 */
import type { Capability } from './bindings/Capability';
import type { MessageKey } from './i18n';

export const SCREEN_IDS = [
	'inbox',
	'cases',
	'projects',
	'explorer',
	'graph',
	'funds',
	'dashboards',
	'proofs',
	'access',
	'blacklist',
	'certificates',
	'admin',
	'settings'
] as const;

export type ScreenId = (typeof SCREEN_IDS)[number];

export interface Screen {
	id: ScreenId;
	href: `/${ScreenId}`;
	/** Short name: navigation entry and page heading. */
	labelKey: MessageKey;
	/** One sentence under the heading saying what the screen is for. */
	introKey: MessageKey;
}

/** Where `/` leads. */
export const HOME_SCREEN: ScreenId = 'inbox';

export const SCREENS: readonly Screen[] = SCREEN_IDS.map((id) => ({
	id,
	href: `/${id}` as const,
	labelKey: `nav.${id}` as const,
	introKey: `screen.${id}.intro` as const
}));

/**
 * Screens offered only to a key the verified chain lets do something (the rest are open to every
 * official: the chain is readable to all its verifying members).
 */
export const SCREEN_NEEDS: Partial<Record<ScreenId, Capability>> = {
	blacklist: 'blacklist_lookup',
	certificates: 'verify_certificates',
	admin: 'admin'
};

/** The screens to offer, given what the active key may do. */
export function visibleScreens(may: (c: Capability) => boolean): readonly Screen[] {
	return SCREENS.filter((s) => {
		const need = SCREEN_NEEDS[s.id];
		return need === undefined || may(need);
	});
}

export function screen(id: ScreenId): Screen {
	const found = SCREENS.find((s) => s.id === id);
	if (!found) throw new RangeError(`unknown screen: ${id}`);
	return found;
}

function isScreenId(segment: string): segment is ScreenId {
	return (SCREEN_IDS as readonly string[]).includes(segment);
}

/**
 * The screen a path belongs to (the one to mark `aria-current="page"` in the navigation):
 * `/cases` and `/cases/42` are Cases, `/` is the home screen, anything else is none.
 * `base` is the app's base path (SvelteKit `paths.base`, empty in the desktop app).
 */
export function activeScreen(pathname: string, base = ''): ScreenId | null {
	let path = pathname;
	if (base && (path === base || path.startsWith(`${base}/`))) path = path.slice(base.length);
	const first = path.split('/').filter(Boolean)[0];
	if (first === undefined) return HOME_SCREEN;
	return isScreenId(first) ? first : null;
}
