// @vitest-environment happy-dom
/**
 * The case list asks the core for one page at a time: the status filter, the search (once typing
 * pauses) and "waiting for me" go to the core with the offset back at 0; the pager asks for the next
 * page; a filter that matches nothing says so instead of "nothing here".
 */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CasePage } from '$lib/bindings/CasePage';
import type { CaseQuery } from '$lib/bindings/CaseQuery';
import type { CaseSummary } from '$lib/bindings/CaseSummary';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { fakeCore, settle, typeInto } from '$lib/testing/fixtures';

vi.mock('$app/state', () => ({ page: { params: {}, url: new URL('http://localhost/cases') } }));

const CasesPage = (await import('./+page.svelte')).default;

const summary = (i: number): CaseSummary => ({
	case_id: `NS-${i}`,
	title: `食品经营许可 申请 ${i}`,
	template: '食品经营许可',
	status: 'open',
	current_stage: 1,
	current_stage_name: '审查',
	scope: 'nansha',
	opened_at: '2026-03-01T02:00:00Z',
	updated_at: '2026-03-02T02:00:00Z',
	waiting_for_me: false
});

/** The core: 120 cases, or none for the text "无此".*/
function core(q: CaseQuery): CasePage {
	const total = q.text === '无此' ? 0 : 120;
	const items = Array.from({ length: Math.max(0, Math.min(q.limit, total - q.offset)) }, (_, i) => summary(q.offset + i));
	return { offset: q.offset, total, items };
}

const mounted: Array<Record<string, unknown>> = [];
afterEach(() => {
	for (const m of mounted.splice(0)) unmount(m);
	setTransport(null);
	vi.useRealTimers();
});

const queries = (calls: Array<[string, unknown]>) =>
	calls.filter(([c]) => c === 'cases').map(([, a]) => (a as { query: CaseQuery }).query);

describe('the case list', () => {
	it('pages and filters in the core', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ cases: (a: unknown) => core((a as { query: CaseQuery }).query) }, calls));
		const target = document.createElement('main');
		document.body.replaceChildren(target);
		mounted.push(mount(CasesPage as Component, { target }));
		await settle(flushSync);
		expect(queries(calls)).toEqual([{ status: null, text: null, waiting_for_me: false, offset: 0, limit: 50 }]);
		expect(target.querySelectorAll('tbody tr').length).toBe(50);

		const pager = target.querySelector('[data-testid=cases-pager]')!;
		pager.querySelectorAll('button')[1]!.click();
		await settle(flushSync);
		expect(queries(calls).at(-1)?.offset).toBe(50);
		expect(pager.textContent).toContain('51–100');

		const status = target.querySelector<HTMLSelectElement>('[data-testid=cases-status]')!;
		status.value = 'expired';
		status.dispatchEvent(new Event('change', { bubbles: true }));
		await settle(flushSync);
		expect(queries(calls).at(-1)).toMatchObject({ status: 'expired', offset: 0 });

		typeInto(target.querySelector<HTMLInputElement>('[data-testid=cases-search]')!, '无此');
		await new Promise((r) => setTimeout(r, 300));
		await settle(flushSync);
		expect(queries(calls).at(-1)).toMatchObject({ status: 'expired', text: '无此', offset: 0 });
		expect(target.querySelector('[data-testid=cases-none]')?.textContent).toBe(zhCN['cases.noMatch']);
	});
});
