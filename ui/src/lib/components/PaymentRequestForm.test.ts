// @vitest-environment happy-dom
/**
 * The contractor's payment request: an imported payroll with bad rows lists each by its row and
 * cannot be signed; a good one fills the amount and is signed by its import id (the file's numbers
 * stay with the core, which hashed them).
 */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { PayrollImport } from '$lib/bindings/PayrollImport';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { format } from '$lib/i18n';
import { fakeCore, settle, typeInto } from '$lib/testing/fixtures';
import PaymentRequestForm from './PaymentRequestForm.svelte';

const mounted: Array<Record<string, unknown>> = [];
afterEach(() => {
	for (const m of mounted.splice(0)) unmount(m);
	setTransport(null);
});

function render(): HTMLElement {
	const target = document.createElement('main');
	document.body.replaceChildren(target);
	mounted.push(mount(PaymentRequestForm as Component<{ projectId: string; left: number }>, { target, props: { projectId: 'XA-2026-011', left: 200_000_000 } }));
	flushSync();
	return target;
}

function imported(over: Partial<PayrollImport> = {}): PayrollImport {
	return {
		import_id: 'imp1',
		project_id: 'XA-2026-011',
		lines: 1000,
		total_fen: 60_000_000,
		refused: 0,
		errors: [],
		chunks: 2,
		payroll_key: 'ab12cd34ef56ab12',
		sample: [],
		...over
	};
}

async function pick(el: HTMLElement, name: string) {
	const input = el.querySelector<HTMLInputElement>('[data-testid=payreq-payroll]')!;
	const file = new File(['证件号码,金额\n'], name);
	Object.defineProperty(input, 'files', { value: [file], configurable: true });
	input.dispatchEvent(new Event('change', { bubbles: true }));
	await settle(flushSync);
	await settle(flushSync);
}

describe('a payment request', () => {
	it('lists every refused payroll row by its row number and cannot be signed', async () => {
		const bad = imported({
			lines: 2,
			refused: 3,
			errors: [
				{ row: 3, problem: 'bad_id_number', detail: 'the check character is wrong' },
				{ row: 4, problem: 'bad_amount', detail: '"abc" is not an amount' },
				{ row: 5, problem: 'duplicate_worker', detail: 'the same worker as row 2' }
			]
		});
		setTransport(fakeCore({ import_payroll: bad }));
		const el = render();
		await pick(el, 'bad.csv');
		const rows = [...el.querySelectorAll('[data-testid=payroll-errors] tbody tr')].map((r) => r.textContent ?? '');
		expect(rows).toHaveLength(3);
		expect(rows[0]).toContain('3');
		expect(rows[0]).toContain(zhCN['payroll.problem.bad_id_number']);
		expect(rows[2]).toContain(zhCN['payroll.problem.duplicate_worker']);
		expect(el.textContent).toContain(format(zhCN['payreq.refused'], { count: 3 }));
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=payreq-purpose]')!, '进度款');
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=payreq-amount]')!, '100');
		expect(el.querySelector<HTMLButtonElement>('[data-testid=payreq-sign]')!.disabled).toBe(true);
	});

	it('fills the amount from the payroll and signs it by its import id', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ import_payroll: imported(), prepare_signature: () => new Promise(() => {}) }, calls));
		const el = render();
		await pick(el, '工资表.xlsx');
		expect(el.querySelector<HTMLInputElement>('[data-testid=payreq-amount]')!.value).toBe('600000.00');
		expect(el.textContent).toContain(format(zhCN['payreq.chunks'], { chunks: 2 }));
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=payreq-purpose]')!, '一期进度款');
		el.querySelector<HTMLButtonElement>('[data-testid=payreq-sign]')!.click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'import_payroll')?.[1]).toMatchObject({ projectId: 'XA-2026-011', name: '工资表.xlsx' });
		expect(calls.find(([c]) => c === 'prepare_signature')?.[1]).toEqual({
			request: {
				kind: 'request_payment',
				project_id: 'XA-2026-011',
				payment_id: '',
				amount_fen: 60_000_000,
				purpose: '一期进度款',
				milestone: '',
				invoices: [],
				payroll: 'imp1'
			}
		});
	});
});
