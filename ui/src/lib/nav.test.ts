import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATALOGS, LOCALES } from './i18n';
import { HOME_SCREEN, SCREENS, SCREEN_IDS, activeScreen, screen, visibleScreens } from './nav';

const ROUTES_DIR = fileURLToPath(new URL('../routes', import.meta.url));

describe('navigation model', () => {
	it('lists the thirteen screens in the agreed order', () => {
		expect(SCREENS.map((s) => s.id)).toEqual([
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
		]);
	});

	it('offers a screen that needs a capability only to a key that has it', () => {
		const none = visibleScreens(() => false).map((s) => s.id);
		expect(none).not.toContain('blacklist');
		expect(none).toContain('cases');
		const lookup = visibleScreens((c) => c === 'blacklist_lookup').map((s) => s.id);
		expect(lookup).toContain('blacklist');
		expect(lookup).not.toContain('certificates');
		const verifier = visibleScreens((c) => c === 'verify_certificates').map((s) => s.id);
		expect(verifier).toContain('certificates');
		expect(verifier).not.toContain('admin');
		expect(visibleScreens((c) => c === 'admin').map((s) => s.id)).toContain('admin');
	});

	it('has unique ids and hrefs', () => {
		expect(new Set(SCREENS.map((s) => s.id)).size).toBe(SCREENS.length);
		expect(new Set(SCREENS.map((s) => s.href)).size).toBe(SCREENS.length);
	});

	it('every screen has a route page, and every route folder is a screen', () => {
		for (const s of SCREENS) {
			expect(existsSync(join(ROUTES_DIR, s.id, '+page.svelte')), `src/routes/${s.id}/+page.svelte`).toBe(true);
		}
		const folders = readdirSync(ROUTES_DIR).filter(
			(name) => statSync(join(ROUTES_DIR, name)).isDirectory() && !name.startsWith('(')
		);
		expect(folders.sort()).toEqual([...SCREEN_IDS].sort());
	});

	it('every label and intro is translated in every locale', () => {
		for (const locale of LOCALES) {
			const catalog: Record<string, string> = CATALOGS[locale];
			for (const s of SCREENS) {
				expect(catalog[s.labelKey], `${locale} ${s.labelKey}`).toBeTruthy();
				expect(catalog[s.introKey], `${locale} ${s.introKey}`).toBeTruthy();
			}
		}
	});

	it('screen() finds a screen and rejects unknown ids', () => {
		expect(screen('funds').href).toBe('/funds');
		expect(() => screen('nope' as never)).toThrow(RangeError);
	});
});

describe('activeScreen', () => {
	it('maps the root to the home screen (inbox)', () => {
		expect(HOME_SCREEN).toBe('inbox');
		expect(activeScreen('/')).toBe('inbox');
		expect(activeScreen('')).toBe('inbox');
	});

	it('matches a screen and its sub-pages', () => {
		expect(activeScreen('/cases')).toBe('cases');
		expect(activeScreen('/cases/')).toBe('cases');
		expect(activeScreen('/cases/42/timeline')).toBe('cases');
		expect(activeScreen('/settings')).toBe('settings');
	});

	it('does not match prefixes or unknown paths', () => {
		expect(activeScreen('/inboxes')).toBeNull();
		expect(activeScreen('/casesx/1')).toBeNull();
		expect(activeScreen('/unknown')).toBeNull();
	});

	it('strips the base path', () => {
		expect(activeScreen('/app/proofs', '/app')).toBe('proofs');
		expect(activeScreen('/app', '/app')).toBe('inbox');
		expect(activeScreen('/application/proofs', '/app')).toBeNull();
	});
});
