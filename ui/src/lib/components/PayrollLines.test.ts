// @vitest-environment happy-dom
/**
 * A payroll longer than a page: the project view's first lines, then further pages from the core,
 * and the whole payroll as one CSV read in pages with its progress shown; a short payroll has no
 * pager and its CSV link at once.
 */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { PaymentView } from '$lib/bindings/PaymentView';
import type { PayrollLineView } from '$lib/bindings/PayrollLineView';
import { setTransport } from '$lib/ipc';
import { fakeCore, settle } from '$lib/testing/fixtures';
import PayrollLines from './PayrollLines.svelte';

const mounted: Array<Record<string, unknown>> = [];
afterEach(() => {
	for (const m of mounted.splice(0)) unmount(m);
	setTransport(null);
});

const line = (i: number): PayrollLineView => ({ worker: i.toString(16).padStart(64, '0'), amount: 100 * (i + 1) });

function payment(total: number, shown: number): PaymentView {
	const payroll = Array.from({ length: shown }, (_, i) => line(i));
	return {
		payment_id: 'XA-P077-W05',
		amount: 0,
		purpose: '工资',
		milestone: '',
		invoices: [],
		payroll,
		payroll_lines: total,
		payroll_total: Array.from({ length: total }, (_, i) => line(i).amount).reduce((a, b) => a + b, 0),
		status: 'executed',
		next_step: null,
		next_party: null,
		my_turn: false,
		transfer_ref: null,
		events: []
	};
}

function render(p: PaymentView): HTMLElement {
	const target = document.createElement('main');
	document.body.replaceChildren(target);
	mounted.push(
		mount(PayrollLines as Component<{ projectId: string; payment: PaymentView }>, {
			target,
			props: { projectId: 'XA-P077', payment: p }
		})
	);
	flushSync();
	return target;
}

/** The core's pages of a 250-line payroll. */
function pages(total: number) {
	return (args: unknown) => {
		const { offset, limit } = args as { offset: number; limit: number };
		const lines = Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => line(offset + i));
		return { offset, total, lines };
	};
}

const rows = (el: HTMLElement) => el.querySelectorAll('tbody tr').length;

describe('payroll lines', () => {
	it('pages through a long payroll and exports all of it', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ payroll_page: pages(250) }, calls));
		const el = render(payment(250, 100));
		expect(rows(el)).toBe(100);
		const pager = el.querySelector('[data-testid=payroll-pager-XA-P077-W05]')!;
		expect(pager.textContent).toContain('1–100');
		expect(pager.textContent).toContain('250');
		expect(el.querySelector('a.csv')).toBeNull();

		const [prev, next] = pager.querySelectorAll('button');
		expect((prev as HTMLButtonElement).disabled).toBe(true);
		(next as HTMLButtonElement).click();
		await settle(flushSync);
		expect(calls.at(-1)).toEqual(['payroll_page', { projectId: 'XA-P077', paymentId: 'XA-P077-W05', offset: 100, limit: 100 }]);
		expect(pager.textContent).toContain('101–200');
		(next as HTMLButtonElement).click();
		await settle(flushSync);
		expect(rows(el)).toBe(50);
		expect((next as HTMLButtonElement).disabled).toBe(true);

		calls.length = 0;
		el.querySelector<HTMLButtonElement>('[data-testid=payroll-export-XA-P077-W05]')!.click();
		for (let i = 0; i < 4; i++) await settle(flushSync);
		expect(calls).toEqual([['payroll_page', { projectId: 'XA-P077', paymentId: 'XA-P077-W05', offset: 0, limit: 5000 }]]);
	});

	it('shows a short payroll whole, with its CSV link', () => {
		setTransport(fakeCore({}));
		const el = render(payment(3, 3));
		expect(rows(el)).toBe(3);
		expect(el.querySelector('[data-testid=payroll-pager-XA-P077-W05]')).toBeNull();
		expect(el.querySelector('a.csv')).not.toBeNull();
	});
});
