// @vitest-environment happy-dom
/**
 * The blacklist screen and case intake against a fake core: what is offered follows the key's
 * capabilities; a lookup sends the typed number only to the core (with its purpose) and shows whether
 * the node's answer matched the verified chain; an unverified answer is an alert, never a quiet list.
 */
import { flushSync, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { BlacklistLookup } from '$lib/bindings/BlacklistLookup';
import type { Capabilities } from '$lib/bindings/Capabilities';
import { app } from '$lib/app.svelte';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { format } from '$lib/i18n';
import { fakeCore, mountAlone, settle, signPreview, typeInto, unmountAll } from '$lib/testing/fixtures';
import BlacklistPage from './+page.svelte';
import CasesPage from '../cases/+page.svelte';

const KEY_ID = '0123456789abcdef';
const caps = (may: Capabilities['may'], identity_key: string | null = KEY_ID): Capabilities => ({
	may,
	department: 'fire',
	identity_key
});

const entry = {
	subject: 'ab'.repeat(32),
	department: 'construction',
	department_name: '住建局',
	reason: 'loan-default',
	added_by: { official_id: 'cd'.repeat(32), fingerprint: 'cdcd', name: '王芳', department: 'construction', department_name: '住建局' },
	added_at: 17
};

function lookup(over: Partial<BlacklistLookup> = {}): BlacklistLookup {
	return { subject: entry.subject, entries: [entry], access_tx: 'ef'.repeat(32), check: 'matches', height: 40, ...over };
}

afterEach(() => {
	unmountAll();
	setTransport(null);
	app.capabilities = null;
});

describe('the blacklist screen', () => {
	it('looks a person up with a purpose, shows the verified answer and clears the number', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ blacklist_entries: [], blacklist_lookup: lookup() }, calls));
		app.capabilities = caps(['open_case', 'blacklist_lookup']);
		const el = mountAlone(BlacklistPage as Component);
		await settle(flushSync);
		// Not an officer: no form to add, and it says why.
		expect(el.querySelector('[data-testid=bl-add]')).toBeNull();
		expect(el.textContent).toContain(zhCN['blacklist.noEdit']);

		const button = el.querySelector<HTMLButtonElement>('[data-testid=bl-lookup]')!;
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=bl-look-number]')!, '11010519491231002X');
		expect(button.disabled).toBe(true); // no purpose yet
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=bl-purpose]')!, '贷款审批前核查');
		button.click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'blacklist_lookup')?.[1]).toEqual({
			subject: { form: 'number', doc_type: 'cn-rid', number: '11010519491231002X' },
			purpose: '贷款审批前核查'
		});
		const result = el.querySelector('[data-testid=bl-result]')!;
		expect(result.textContent).toContain(format(zhCN['blacklist.result.verified'], { height: 40 }));
		expect(result.textContent).toContain(format(zhCN['blacklist.result.count'], { count: 1 }));
		expect(result.textContent).toContain('loan-default');
		expect(el.querySelector<HTMLInputElement>('[data-testid=bl-look-number]')!.value).toBe('');
	});

	it('raises an answer that differs from the verified chain as an alert', async () => {
		setTransport(fakeCore({ blacklist_entries: [], blacklist_lookup: lookup({ check: 'differs' }) }));
		app.capabilities = caps(['blacklist_lookup']);
		const el = mountAlone(BlacklistPage as Component);
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=bl-look-number]')!, 'x');
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=bl-purpose]')!, 'y');
		el.querySelector<HTMLButtonElement>('[data-testid=bl-lookup]')!.click();
		await settle(flushSync);
		const alert = el.querySelector('[data-testid=bl-result] [role=alert]');
		expect(alert?.textContent).toBe(format(zhCN['blacklist.result.unverified'], { height: 40 }));
	});

	it('offers adding and removing to an officer, and nothing that needs a missing identity key', async () => {
		setTransport(fakeCore({ blacklist_entries: [entry] }));
		app.capabilities = caps(['blacklist_lookup', 'blacklist_edit'], null);
		const el = mountAlone(BlacklistPage as Component);
		await settle(flushSync);
		expect(el.textContent).toContain(zhCN['intake.noIdentityKey']);
		expect(el.querySelector<HTMLButtonElement>('[data-testid=bl-add]')!.disabled).toBe(true);
		expect(el.querySelector<HTMLButtonElement>('[data-testid=bl-lookup]')!.disabled).toBe(true);
		// Removing names the listed hash: no key needed.
		const remove = [...el.querySelectorAll('button')].find((b) => b.textContent === zhCN['blacklist.remove']);
		expect(remove).toBeDefined();
	});
});

describe('case intake', () => {
	it('is offered only to a key the chain lets open cases', async () => {
		setTransport(fakeCore({ cases: { offset: 0, total: 0, items: [] } }));
		app.capabilities = caps([]);
		let el = mountAlone(CasesPage as Component);
		await settle(flushSync);
		expect(el.querySelector('[data-testid=intake-open]')).toBeNull();
		unmountAll();
		app.capabilities = caps(['open_case']);
		el = mountAlone(CasesPage as Component);
		await settle(flushSync);
		expect(el.querySelector('[data-testid=intake-open]')?.textContent).toBe(zhCN['intake.open']);
	});

	it('signs a case with the template, the typed applicant and the stored documents', async () => {
		const calls: Array<[string, unknown]> = [];
		const preview = signPreview({
			preview_id: 'p1',
			kind: 'case.open',
			canonical_json: JSON.stringify({ payload: { case_id: 'C-20261202-0A1B2C3D' } }),
			sha256: '00'.repeat(32),
			tx_id: '11'.repeat(32),
			signer_fingerprint: 'aaaa'
		});
		setTransport(
			fakeCore(
				{
					cases: { offset: 0, total: 0, items: [] },
					templates: [
						{ id: 'old-city-renovation', version: 2, name: '老旧小区改造', stages: ['城管', '消防'], latest: true },
						{ id: 'old-city-renovation', version: 1, name: '老旧小区改造', stages: ['城管'], latest: false }
					],
					prepare_signature: preview
				},
				calls
			)
		);
		app.capabilities = caps(['open_case']);
		const el = mountAlone(CasesPage as Component);
		await settle(flushSync);
		el.querySelector<HTMLButtonElement>('[data-testid=intake-open]')!.click();
		await settle(flushSync);
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=intake-title]')!, '北山街12号改造');
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=intake-number]')!, '１１０１０５19491231002x');
		el.querySelector<HTMLButtonElement>('[data-testid=intake-sign]')!.click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'prepare_signature')?.[1]).toEqual({
			request: {
				kind: 'open_case',
				case_id: '',
				template: 'old-city-renovation',
				version: 2,
				scope: 'hz',
				title: '北山街12号改造',
				applicant: { form: 'number', doc_type: 'cn-rid', number: '１１０１０５19491231002x' },
				documents: []
			}
		});
	});
});
