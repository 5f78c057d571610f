/**
 * The current UI locale, as reactive Svelte 5 state, and `t()` to translate with it.
 *
 * Owns: which locale is active, where the choice is persisted (localStorage), and keeping
 * `<html lang>` in step. Reading `t()` or `getLocale()` inside a component or `$derived` makes it
 * re-run when the locale changes, because both read the `$state` below.
 *
 * The browser (window, localStorage, document) is reached only through a `LocaleEnv`, so the same
 * logic runs under Vitest with fakes.
 */
import { en } from './en';
import { zhCN, type Catalog, type MessageKey } from './zh-CN';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export const DEFAULT_LOCALE: Locale = 'zh-CN';

/** localStorage key holding the user's choice. */
export const STORAGE_KEY = 'govchain.locale';

/** Each language's name in that language (what a language switch shows, whatever the current locale). */
export const LOCALE_NAMES: Record<Locale, string> = {
	'zh-CN': '中文',
	en: 'English'
};

export const CATALOGS: Record<Locale, Catalog> = {
	'zh-CN': zhCN,
	en
};

export type Params = Record<string, string | number>;

/** What the locale logic needs from its surroundings; every part is optional. */
export interface LocaleEnv {
	/** Where the choice is remembered (window.localStorage in the app). */
	storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
	/** A query string such as `?lang=en`; an explicit `lang` wins over the stored choice. */
	search?: string;
	/** The element whose `lang` attribute follows the locale (document.documentElement). */
	root?: { lang: string } | null;
}

let current = $state<Locale>(DEFAULT_LOCALE);
let env: LocaleEnv = {};

/**
 * Maps a tag such as `en-GB`, `zh`, `ZH-cn` to a supported locale, or `null` if unsupported.
 */
export function normalizeLocale(tag: string | null | undefined): Locale | null {
	if (!tag) return null;
	const lower = tag.trim().toLowerCase();
	const exact = LOCALES.find((l) => l.toLowerCase() === lower);
	if (exact) return exact;
	const primary = lower.split(/[-_]/)[0];
	if (primary === 'zh') return 'zh-CN';
	if (primary === 'en') return 'en';
	return null;
}

function browserEnv(): LocaleEnv {
	if (typeof window === 'undefined') return {};
	let storage: Storage | null = null;
	try {
		storage = window.localStorage;
	} catch {
		// Storage disabled: the choice simply isn't remembered.
	}
	return { storage, search: window.location.search, root: document.documentElement };
}

function readStored(storage: LocaleEnv['storage']): string | null {
	try {
		return storage?.getItem(STORAGE_KEY) ?? null;
	} catch {
		return null;
	}
}

/**
 * Picks the starting locale: `?lang=` in the query, else the stored choice, else zh-CN.
 * An explicit `?lang=` is remembered like a choice made in the UI.
 */
export function initLocale(environment: LocaleEnv = browserEnv()): Locale {
	env = environment;
	const fromQuery = normalizeLocale(new URLSearchParams(env.search ?? '').get('lang'));
	const fromStorage = normalizeLocale(readStored(env.storage));
	current = fromQuery ?? fromStorage ?? DEFAULT_LOCALE;
	if (fromQuery) persist(current);
	applyToRoot();
	return current;
}

/** The active locale. Reactive. */
export function getLocale(): Locale {
	return current;
}

/** Switches the UI language, remembers it and updates `<html lang>`. */
export function setLocale(next: Locale): void {
	if (!LOCALES.includes(next)) throw new RangeError(`unsupported locale: ${String(next)}`);
	current = next;
	persist(next);
	applyToRoot();
}

function persist(locale: Locale): void {
	try {
		env.storage?.setItem(STORAGE_KEY, locale);
	} catch {
		// Quota or privacy mode: keep working with the in-memory choice.
	}
}

function applyToRoot(): void {
	if (env.root) env.root.lang = current;
}

/** Replaces `{name}` placeholders; unknown placeholders are left visible rather than silently dropped. */
export function format(message: string, params?: Params): string {
	if (!params) return message;
	return message.replace(/\{(\w+)\}/g, (whole, name: string) =>
		Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole
	);
}

/**
 * Translates `key` in the active locale (falling back to zh-CN, then to the key itself, which
 * makes a missing message visible instead of blank). Reactive.
 */
export function t(key: MessageKey, params?: Params): string {
	const message = CATALOGS[current][key] ?? zhCN[key] ?? key;
	return format(message, params);
}
