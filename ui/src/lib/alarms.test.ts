/**
 * Every code the core can raise as an alarm (found in the Rust sources) has its own title,
 * explanation and next step in every locale.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALARM_CODES, alarmText } from './alarms';
import { CATALOGS, LOCALES } from './i18n';

describe('alarm codes', () => {
	it('every code the core raises as an alarm has a title, an explanation and a next step in every locale', () => {
		const root = fileURLToPath(new URL('../../../crates', import.meta.url));
		const files = (dir: string): string[] =>
			readdirSync(dir).flatMap((n) => {
				const p = join(dir, n);
				return statSync(p).isDirectory() ? files(p) : p.endsWith('.rs') ? [p] : [];
			});
		const raised = new Set<string>();
		// The workstation's own verification codes …
		for (const f of files(join(root, 'workstation/src'))) {
			for (const m of readFileSync(f, 'utf8').matchAll(/(?:WsError::verification|\bfail)\(\s*"([a-z_.]+)"/g)) raised.add(m[1]!);
		}
		// … and the ledger's block and checkpoint (signed note) codes it passes on.
		for (const f of ['ledger/src/block.rs', 'ledger/src/note.rs']) {
			const src = readFileSync(join(root, f), 'utf8');
			const impl = src.slice(src.indexOf('fn code(&self)'));
			for (const m of impl.slice(0, impl.indexOf('\n}\n')).matchAll(/=> "([a-z_.]+)"/g)) raised.add(m[1]!);
		}
		expect(raised.size).toBeGreaterThan(20);
		for (const code of raised) expect(Object.keys(ALARM_CODES), code).toContain(code);
		for (const locale of LOCALES) {
			const catalog: Record<string, string> = CATALOGS[locale];
			for (const code of Object.keys(ALARM_CODES)) {
				const keys = alarmText({ code, node: 'n' });
				for (const k of [keys.title, keys.detail, keys.next]) expect(catalog[k], `${locale} ${k}`).toBeTruthy();
			}
		}
	});
});
