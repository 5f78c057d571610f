// @vitest-environment happy-dom
/**
 * The certificates screen against a fake core: issuing is offered only to certificate issuers; a
 * consent request shows its text and QR code for the citizen's signer and takes their answer back;
 * verification is offered only under an active consent to this department, and a recorded mismatch
 * is shown as one, never as a match.
 */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { Capabilities } from '$lib/bindings/Capabilities';
import type { CertificateView } from '$lib/bindings/CertificateView';
import { app } from '$lib/app.svelte';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { fakeCore, mountAlone, settle, signPreview, typeInto, unmountAll } from '$lib/testing/fixtures';
import CertificatesPage from './+page.svelte';
import SignDialog from '$lib/components/SignDialog.svelte';

const caps = (may: Capabilities['may']): Capabilities => ({ may, department: 'hpf-sanya', identity_key: '0123456789abcdef' });
const official = { official_id: 'cd'.repeat(32), fingerprint: 'cdcd', name: '林海', department: 'hpf-haikou', department_name: '海口市住房公积金管理局' };

function cert(over: Partial<CertificateView> = {}): CertificateView {
	return {
		id: 'CERT-20261202-0A1B2C3D',
		cert_type: 'housing-fund-deposit',
		department: 'hpf-haikou',
		department_name: '海口市住房公积金管理局',
		issuer: official,
		issued_at: 12,
		expires_at: null,
		expired: false,
		commitment: 'ab'.repeat(32),
		holder_fingerprint: '1111 2222',
		issued_here: false,
		consents: [],
		verifications: [],
		...over
	};
}

const consent = { id: 'CS-1', grantee: 'hpf-sanya', grantee_name: '三亚', until: '2027-01-01T00:00:00.000Z', purpose: '贷款审核', granted_at: 13, revoked_at: null, active: true };
const request = { text: 'GCR1:eyJ9', qr_svg: '<svg data-qr="1"></svg>', tx_id: 'ef'.repeat(32), consent_id: 'CS-1', kind: 'consent.grant' as const, holder_fingerprint: '1111 2222' };

afterEach(() => {
	unmountAll();
	setTransport(null);
	app.capabilities = null;
});

async function open(list: CertificateView[], may: Capabilities['may'], calls: Array<[string, unknown]> = [], extra = {}) {
	setTransport(fakeCore({ certificates: list, consent_request: request, submit_consent: { id: request.tx_id, kind: 'consent.grant', seq: 1, status: 'queued', code: null, message: null, height: null, attempts: 0, created_at: '' }, ...extra }, calls));
	app.capabilities = caps(may);
	const el = mountAlone(CertificatesPage as Component);
	await settle(flushSync);
	return el;
}

describe('the certificates screen', () => {
	it('offers issuing only to an issuer', async () => {
		let el = await open([], ['verify_certificates']);
		expect(el.querySelector('[data-testid=cert-issue]')).toBeNull();
		expect(el.textContent).toContain(zhCN['cert.list.empty']);
		unmountAll();
		el = await open([], ['verify_certificates', 'issue_certificates']);
		expect(el.querySelector('[data-testid=cert-issue]')).toBeNull();
		el.querySelector<HTMLButtonElement>('[data-testid=cert-issue-open]')!.click();
		await settle(flushSync);
		expect(el.querySelector('[data-testid=cert-issue]')).not.toBeNull();
		expect(el.querySelector<HTMLButtonElement>('[data-testid=cert-sign]')!.disabled).toBe(true);
	});

	it('asks the holder for consent and relays the signed answer', async () => {
		const calls: Array<[string, unknown]> = [];
		const el = await open([cert()], ['verify_certificates'], calls);
		el.querySelector<HTMLButtonElement>('[data-testid=cert-row] button')!.click();
		await settle(flushSync);
		// No consent to this department yet: nothing to verify under.
		expect(el.querySelector('[data-testid=cert-no-consent]')).not.toBeNull();
		expect(el.querySelector<HTMLInputElement>('[data-testid=cert-grantee]')!.value).toBe('hpf-sanya');
		// A certificate's QR code text names it.
		typeInto(
			el.querySelector<HTMLInputElement>('[data-testid=cert-ask-id]')!,
			`govchain:certificate?chain=gov-demo&id=CERT-20261202-0A1B2C3D&salt=${'cd'.repeat(32)}`
		);
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=cert-purpose]')!, '异地购房贷款审核');
		el.querySelector<HTMLButtonElement>('[data-testid=cert-ask]')!.click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'consent_request')?.[1]).toEqual({
			certId: 'CERT-20261202-0A1B2C3D',
			grantee: 'hpf-sanya',
			purpose: '异地购房贷款审核',
			days: 30
		});
		const box = el.querySelector('[data-testid=citizen-request]')!;
		expect(box.querySelector('textarea')!.value).toBe('GCR1:eyJ9');
		expect(box.querySelector('svg[data-qr]')).not.toBeNull();
		typeInto(el.querySelector<HTMLTextAreaElement>('[data-testid=citizen-answer]')!, 'GCA1:abc');
		el.querySelector<HTMLButtonElement>('[data-testid=citizen-submit]')!.click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'submit_consent')?.[1]).toEqual({ answer: 'GCA1:abc' });
	});

	it('verifies only under an active consent and shows a mismatch as one', async () => {
		const v = { height: 20, time: '', tx_id: '12'.repeat(32), official, consent_id: 'CS-1', matches: false };
		const el = await open([cert({ consents: [consent], verifications: [v] })], ['verify_certificates']);
		el.querySelector<HTMLButtonElement>('[data-testid=cert-row] button')!.click();
		await settle(flushSync);
		expect(el.querySelector('[data-testid=cert-no-consent]')).toBeNull();
		expect(el.querySelector<HTMLButtonElement>('[data-testid=cert-verify]')!.disabled).toBe(true);
		const row = el.querySelector('[data-testid=verification-row]')!;
		expect(row.getAttribute('data-matches')).toBe('false');
		expect(row.textContent).toContain(zhCN['cert.verify.differs']);
		expect(row.textContent).not.toContain(zhCN['cert.verify.matches']);
	});

	it('warns before signing a verification whose document does not match', () => {
		const target = document.createElement('main');
		document.body.replaceChildren(target);
		const preview = signPreview({ kind: 'certificate.verify', commitment_matches: false });
		const dialog = mount(SignDialog, { target, props: { preview, busy: false, onconfirm: () => {}, oncancel: () => {} } });
		flushSync();
		const note = target.querySelector('[data-testid=sign-commitment]')!;
		expect(note.getAttribute('data-matches')).toBe('false');
		expect(note.getAttribute('role')).toBe('alert');
		expect(note.textContent).toBe(zhCN['sign.commitmentDiffers']);
		unmount(dialog);
	});
});
