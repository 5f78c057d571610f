export {
	CATALOGS,
	DEFAULT_LOCALE,
	LOCALES,
	LOCALE_NAMES,
	STORAGE_KEY,
	format,
	getLocale,
	initLocale,
	normalizeLocale,
	setLocale,
	t,
	type Locale,
	type LocaleEnv,
	type Params
} from './locale.svelte';
export type { Catalog, MessageKey } from './zh-CN';
