import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { en } from './en';
import {
	CATALOGS,
	DEFAULT_LOCALE,
	LOCALES,
	STORAGE_KEY,
	format,
	getLocale,
	initLocale,
	normalizeLocale,
	setLocale,
	t,
	type LocaleEnv
} from './locale.svelte';
import { zhCN } from './zh-CN';

const SRC_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** Every .svelte / .ts file under src/, except tests (they may mention keys on purpose). */
function sourceFiles(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		if (statSync(path).isDirectory()) return sourceFiles(path);
		if (/\.test\.ts$/.test(name)) return [];
		return /\.(svelte|ts)$/.test(name) ? [path] : [];
	});
}

/** Literal keys passed to t(): `t('a.b')`, `t("a.b", {...})`. Template literals with `${}` are not literal keys. */
function keysUsedIn(source: string): string[] {
	const keys: string[] = [];
	const call = /(?<![\w$.])t\(\s*(['"`])((?:(?!\1)[^\\\n])+)\1/g;
	for (const m of source.matchAll(call)) {
		const key = m[2]!;
		if (!key.includes('${')) keys.push(key);
	}
	return keys;
}

const placeholders = (message: string) => [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogs', () => {
	it('zh-CN and en have exactly the same keys', () => {
		const zhKeys = Object.keys(zhCN).sort();
		const enKeys = Object.keys(en).sort();
		expect(enKeys.filter((k) => !zhKeys.includes(k)), 'keys only in en').toEqual([]);
		expect(zhKeys.filter((k) => !enKeys.includes(k)), 'keys only in zh-CN').toEqual([]);
	});

	it('every locale has a catalog and no message is empty', () => {
		for (const locale of LOCALES) {
			const catalog: Record<string, string> = CATALOGS[locale];
			for (const [key, message] of Object.entries(catalog)) {
				expect(message.trim(), `${locale} ${key}`).not.toBe('');
			}
		}
	});

	it('translations use the same {placeholders} as zh-CN', () => {
		const zh: Record<string, string> = zhCN;
		const other: Record<string, string> = en;
		for (const key of Object.keys(zh)) {
			expect(placeholders(other[key] ?? ''), `en ${key}`).toEqual(placeholders(zh[key]!));
		}
	});
});

describe('keys used in the source', () => {
	it('finds t() calls (sanity check of the scanner)', () => {
		expect(keysUsedIn(`{t('nav.inbox')} t("a.b", { n: 1 }) x.t('no') at('no') t(\`c.d\`) t(\`e.\${id}\`)`)).toEqual([
			'nav.inbox',
			'a.b',
			'c.d'
		]);
	});

	it('every literal t() key in src/ exists in every catalog', () => {
		const files = sourceFiles(SRC_DIR);
		const used = files.flatMap((file) =>
			keysUsedIn(readFileSync(file, 'utf8')).map((key) => ({ key, file: relative(SRC_DIR, file) }))
		);
		// The scan must actually see the app, or this test would pass vacuously.
		expect(files.some((f) => f.endsWith('+layout.svelte'))).toBe(true);
		expect(used.length).toBeGreaterThan(5);

		for (const locale of LOCALES) {
			const catalog: Record<string, string> = CATALOGS[locale];
			const missing = used.filter(({ key }) => !(key in catalog)).map(({ key, file }) => `${key} (${file})`);
			expect(missing, `keys missing from ${locale}`).toEqual([]);
		}
	});
});

function fakeEnv(stored: string | null = null, search = ''): LocaleEnv & { saved: Map<string, string> } {
	const saved = new Map<string, string>();
	if (stored !== null) saved.set(STORAGE_KEY, stored);
	return {
		saved,
		search,
		root: { lang: '' },
		storage: {
			getItem: (k) => saved.get(k) ?? null,
			setItem: (k, v) => void saved.set(k, v)
		}
	};
}

describe('locale state', () => {
	beforeEach(() => {
		initLocale(fakeEnv());
	});

	it('defaults to zh-CN and sets <html lang>', () => {
		const env = fakeEnv();
		expect(initLocale(env)).toBe('zh-CN');
		expect(DEFAULT_LOCALE).toBe('zh-CN');
		expect(env.root?.lang).toBe('zh-CN');
		expect(t('app.title')).toBe('政务链工作台');
	});

	it('restores a stored choice', () => {
		const env = fakeEnv('en');
		expect(initLocale(env)).toBe('en');
		expect(env.root?.lang).toBe('en');
		expect(t('app.title')).toBe('govchain workstation');
	});

	it('ignores a stored value it does not support', () => {
		expect(initLocale(fakeEnv('fr'))).toBe('zh-CN');
	});

	it('lets ?lang= override the stored choice and remembers it', () => {
		const env = fakeEnv('zh-CN', '?lang=en');
		expect(initLocale(env)).toBe('en');
		expect(env.saved.get(STORAGE_KEY)).toBe('en');
	});

	it('setLocale switches t(), persists and updates <html lang>', () => {
		const env = fakeEnv();
		initLocale(env);
		expect(t('status.disconnected')).toBe('未连接节点');
		setLocale('en');
		expect(getLocale()).toBe('en');
		expect(t('status.disconnected')).toBe('No node connected');
		expect(env.saved.get(STORAGE_KEY)).toBe('en');
		expect(env.root?.lang).toBe('en');
	});

	it('keeps working when storage throws', () => {
		const env: LocaleEnv = {
			storage: {
				getItem: () => {
					throw new Error('denied');
				},
				setItem: () => {
					throw new Error('denied');
				}
			}
		};
		expect(initLocale(env)).toBe('zh-CN');
		expect(() => setLocale('en')).not.toThrow();
		expect(getLocale()).toBe('en');
	});

	it('rejects unsupported locales', () => {
		expect(() => setLocale('fr' as never)).toThrow(RangeError);
		expect(getLocale()).toBe('zh-CN');
	});
});

describe('helpers', () => {
	it('normalizeLocale maps tags to supported locales', () => {
		expect(normalizeLocale('en-GB')).toBe('en');
		expect(normalizeLocale('ZH-cn')).toBe('zh-CN');
		expect(normalizeLocale('zh_TW')).toBe('zh-CN');
		expect(normalizeLocale('de')).toBeNull();
		expect(normalizeLocale('')).toBeNull();
		expect(normalizeLocale(null)).toBeNull();
	});

	it('format fills placeholders and leaves unknown ones visible', () => {
		expect(format('{screen} · {app}', { screen: '收件箱', app: '政务链工作台' })).toBe('收件箱 · 政务链工作台');
		expect(format('{a} {b}', { a: 1 })).toBe('1 {b}');
		expect(format('{toString}', {})).toBe('{toString}');
	});
});

describe('values the core sends have labels', () => {
	// Every status, state and action the Rust side can produce (crates/workstation/src/views.rs,
	// crates/ledger state): a missing label would show a raw key.
	const produced: Record<string, string[]> = {
		'stage.state': ['done', 'current', 'pending', 'rejected', 'skipped'],
		'case.state': ['open', 'approved', 'rejected', 'withdrawn', 'expired'],
		action: ['open', 'approve', 'reject', 'withdraw', 'request', 'confirm', 'refuse', 'execute'],
		outbox: ['queued', 'submitted', 'committed', 'rejected'],
		party: ['developer', 'contractor', 'supervisor', 'operator'],
		'payment.state': ['requested', 'confirmed', 'approved', 'executed', 'refused']
	};
	it('in every locale', () => {
		for (const locale of LOCALES) {
			const catalog: Record<string, string> = CATALOGS[locale];
			for (const [prefix, values] of Object.entries(produced)) {
				for (const v of values) expect(catalog[`${prefix}.${v}`], `${locale} ${prefix}.${v}`).toBeTruthy();
			}
		}
	});
});
