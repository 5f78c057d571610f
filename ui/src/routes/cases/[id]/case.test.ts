// @vitest-environment happy-dom
/**
 * The case screen: a k-of-n stage shows "k / n signed", who signed and who may still sign (capped,
 * "+N more"); when this key may not sign, the sign form is replaced by the core's reason, translated.
 */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CaseDetail } from '$lib/bindings/CaseDetail';
import type { OfficialRef } from '$lib/bindings/OfficialRef';
import type { StageView } from '$lib/bindings/StageView';
import { setTransport } from '$lib/ipc';
import { format } from '$lib/i18n';
import { zhCN } from '$lib/i18n/zh-CN';
import { fakeCore, settle } from '$lib/testing/fixtures';

vi.mock('$app/state', () => ({ page: { params: { id: 'HZ-2026-0042' }, url: new URL('http://localhost/cases/HZ-2026-0042') } }));

const CasePage = (await import('./+page.svelte')).default;

const official = (n: number): OfficialRef => ({
	official_id: `${n}`.padStart(64, '0'),
	fingerprint: `fp${n}`,
	name: `官员${n}`,
	department: 'fire',
	department_name: '消防局'
});

function stage(over: Partial<StageView>): StageView {
	return {
		index: 1,
		name: '消防审查',
		department: 'fire',
		department_name: '消防局',
		role: 'inspector',
		group: null,
		threshold: 2,
		state: 'current',
		approvals: [official(1)],
		deadline: null,
		mine: false,
		sign_block: 'wrong_scope',
		signable_by: [official(2), official(3)],
		signable_more: 4,
		duration_ms: null,
		longest: false,
		...over
	};
}

function detail(stages: StageView[]): CaseDetail {
	return {
		case_id: 'HZ-2026-0042',
		title: '北山街 12 号装修',
		template_id: 'renovation',
		template_name: '装修审批',
		version: 1,
		scope: 'hz/xh',
		status: 'open',
		round: 0,
		documents: [],
		applicant: null,
		opener: official(9),
		stages,
		timeline: []
	};
}

const mounted: Array<Record<string, unknown>> = [];
afterEach(() => {
	for (const m of mounted.splice(0)) unmount(m);
	setTransport(null);
});

async function render(d: CaseDetail, answers: Record<string, unknown> = {}): Promise<HTMLElement> {
	setTransport(fakeCore({ case_detail: d, ...answers }));
	const target = document.createElement('main');
	document.body.replaceChildren(target);
	mounted.push(mount(CasePage as Component, { target }));
	await settle(flushSync);
	return target;
}

describe('a case', () => {
	it('shows a k-of-n stage as "k / n signed" with who signed and who may still sign', async () => {
		const el = await render(detail([stage({})]));
		expect(el.querySelector('[data-testid=stage-1-signed]')?.textContent).toBe(format(zhCN['stage.signedOf'], { count: 1, threshold: 2 }));
		expect(el.querySelector('[data-testid=stage-1]')?.textContent).toContain('✓ 官员1');
		const may = el.querySelector('[data-testid=stage-1-may-sign]')?.textContent ?? '';
		expect(may).toContain(zhCN['stage.mayStillSign']);
		expect(may).toContain('官员2、官员3');
		expect(may).toContain(format(zhCN['stage.more'], { count: 4 }));
	});

	it('replaces the sign form with why this key may not sign', async () => {
		const el = await render(detail([stage({})]));
		expect(el.querySelector('[data-testid=approve]')).toBeNull();
		const block = el.querySelector('[data-testid=sign-block]');
		expect(block?.getAttribute('data-reason')).toBe('wrong_scope');
		expect(block?.textContent).toContain(zhCN['case.block.heading']);
		expect(block?.textContent).toContain(
			format(zhCN['case.block.wrong_scope'], { department: '消防局', role: 'inspector', scope: 'hz/xh' })
		);
	});

	it('shows the sign form, not a block, on the official\'s own stage', async () => {
		const el = await render(detail([stage({ mine: true, sign_block: null })]));
		expect(el.querySelector('[data-testid=approve]')).not.toBeNull();
		expect(el.querySelector('[data-testid=sign-block]')).toBeNull();
	});

	it('says of each document whether the copy on this computer still matches the hash on chain', async () => {
		const [a, b, c] = ['aa'.repeat(32), 'bb'.repeat(32), 'cc'.repeat(32)] as const;
		const el = await render(
			{ ...detail([stage({})]), documents: [a, b, c], applicant: 'dd'.repeat(32) },
			{
				check_documents: [
					{ sha256: a, state: 'matches', name: '申请表.pdf', size: 10 },
					{ sha256: b, state: 'altered', name: '总平面图.pdf', size: 12 },
					{ sha256: c, state: 'missing', name: null, size: null }
				]
			}
		);
		await settle(flushSync);
		const docs = [...el.querySelectorAll('[data-testid=case-document]')];
		expect(docs.map((d) => d.getAttribute('data-state'))).toEqual(['matches', 'altered', 'missing']);
		const text = docs.map((d) => d.textContent ?? '');
		expect(text[0]).toContain('申请表.pdf');
		expect(text[0]).toContain(zhCN['docs.matches']);
		expect(text[1]).toContain(zhCN['docs.altered']);
		expect(text[2]).toContain(zhCN['docs.missing']);
		expect(el.textContent).toContain(zhCN['case.applicant']);
	});
});
