// @vitest-environment happy-dom
/**
 * Hardware keys in the UI against a fake core: the signing dialog asks for the token's PIN only when
 * the token is locked, sends it to the core once and clears it, shows a wrong PIN with its code and a
 * sentence in the user's language without signing; the token card lists a module's tokens and keys and
 * makes a chosen or new token key the signing key.
 */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignPreview } from '$lib/bindings/SignPreview';
import type { TokenOverview } from '$lib/bindings/TokenOverview';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { fakeCore, mountAlone, settle, signPreview, typeInto, unmountAll } from '$lib/testing/fixtures';
import { tokenErrorText } from '$lib/tokens';
import SignDialog from './SignDialog.svelte';
import TokenKeys from './TokenKeys.svelte';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

function preview(unlocked: boolean): SignPreview {
	return signPreview({ token: { token_label: 'GovKey-Fire', token_serial: '2f709d3fd9999ead', unlocked } });
}

function dialog(p: SignPreview, confirmed: { n: number }) {
	const target = document.createElement('main');
	document.body.replaceChildren(target);
	const d = mount(SignDialog, { target, props: { preview: p, busy: false, onconfirm: () => confirmed.n++, oncancel: () => {} } });
	flushSync();
	return { target, d };
}

afterEach(() => {
	unmountAll();
	setTransport(null);
});

describe('the signing dialog with a key on a token', () => {
	it('asks for the PIN, keeps a wrong one from signing, and signs after the right one', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(
			fakeCore(
				{
					token_unlock: (a: { pin: string }) =>
						a.pin === '246810'
							? null
							: Promise.reject({ code: 'token.pin_incorrect', message: 'the token refused the PIN' })
				},
				calls
			)
		);
		const confirmed = { n: 0 };
		const { target, d } = dialog(preview(false), confirmed);
		expect(target.querySelector('[data-testid=sign-token]')!.textContent).toContain('GovKey-Fire');
		const pin = target.querySelector<HTMLInputElement>('[data-testid=sign-pin]')!;
		const confirm = target.querySelector<HTMLButtonElement>('[data-testid=sign-confirm]')!;
		expect(pin.type).toBe('password');
		expect(confirm.disabled).toBe(true);

		typeInto(pin, '111111');
		confirm.click();
		await settle(flushSync);
		expect(confirmed.n).toBe(0);
		const err = target.querySelector('[data-testid=sign-pin-error]')!;
		expect(err.textContent).toContain('token.pin_incorrect');
		expect(err.textContent).toContain(zhCN['token.error.token.pin_incorrect']);
		expect(target.querySelector<HTMLInputElement>('[data-testid=sign-pin]')!.value).toBe('');

		typeInto(target.querySelector<HTMLInputElement>('[data-testid=sign-pin]')!, '246810');
		target.querySelector<HTMLButtonElement>('[data-testid=sign-confirm]')!.click();
		await settle(flushSync);
		expect(confirmed.n).toBe(1);
		expect(calls.filter(([c]) => c === 'token_unlock').map(([, a]) => a)).toEqual([{ pin: '111111' }, { pin: '246810' }]);
		expect(target.querySelector('[data-testid=sign-pin]')).toBeNull();
		unmount(d);
	});

	it('signs at once with an unlocked token', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({}, calls));
		const confirmed = { n: 0 };
		const { target, d } = dialog(preview(true), confirmed);
		expect(target.querySelector('[data-testid=sign-pin]')).toBeNull();
		target.querySelector<HTMLButtonElement>('[data-testid=sign-confirm]')!.click();
		await settle(flushSync);
		expect(confirmed.n).toBe(1);
		expect(calls).toEqual([]);
		unmount(d);
	});

	it('explains token codes in the user\'s language and passes others through', () => {
		expect(tokenErrorText({ code: 'token.removed', message: 'x' })).toBe(zhCN['token.error.token.removed']);
		expect(tokenErrorText({ code: 'sync.offline', message: 'offline' })).toBe('offline');
	});
});

describe('the hardware key card', () => {
	const overview = (added: boolean): TokenOverview => ({
		installed: [MODULE],
		module: MODULE,
		tokens: [
			{
				label: 'GovKey-Fire',
				serial: '2f70',
				manufacturer: 'SoftHSM project',
				model: 'SoftHSM v2',
				protected_path: false,
				unlocked: false,
				keys: [{ label: 'ukey', key_id: 'ab'.repeat(32), fingerprint: 'abab abab', public_key: 'cd'.repeat(32), added }]
			}
		]
	});
	const key = { key_id: 'ab'.repeat(32), fingerprint: 'abab', public_key: 'cd'.repeat(32), label: 'ukey', created_at: '', active: false, in_keychain: false, official: null, token: null };

	it('lists the tokens of a module and signs with a chosen or a new key', async () => {
		const calls: Array<[string, unknown]> = [];
		let added = false;
		setTransport(
			fakeCore(
				{
					token_overview: () => overview(added),
					token_add_key: () => ((added = true), key),
					token_create_key: () => key,
					set_active_key: key,
					status: null,
					keys: [],
					outbox: [],
					chains: { active: null, chains: [] }
				},
				calls
			)
		);
		const el = mountAlone(TokenKeys as Component);
		await settle(flushSync);
		expect(el.querySelector<HTMLInputElement>('[data-testid=token-module]')!.value).toBe(MODULE);
		const card = el.querySelector('[data-testid=token-card]')!;
		expect(card.textContent).toContain('GovKey-Fire');
		expect(card.textContent).toContain(zhCN['token.locked']);

		card.querySelector<HTMLButtonElement>('[data-testid=token-key] button')!.click();
		await settle(flushSync);
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'token_add_key')?.[1]).toEqual({ module: MODULE, token: '2f70', keyId: 'ab'.repeat(32), label: 'ukey' });
		expect(calls.find(([c]) => c === 'set_active_key')?.[1]).toEqual({ keyId: 'ab'.repeat(32) });
		expect(el.querySelector('[data-testid=token-key]')!.textContent).toContain(zhCN['token.added']);

		typeInto(el.querySelector<HTMLInputElement>('[data-testid=token-key-name]')!, '消防审批员');
		const pin = el.querySelector<HTMLInputElement>('[data-testid=token-pin]')!;
		typeInto(pin, '246810');
		el.querySelector<HTMLButtonElement>('[data-testid=token-create]')!.click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'token_create_key')?.[1]).toEqual({ module: MODULE, token: '2f70', pin: '246810', label: '消防审批员' });
		expect(el.querySelector<HTMLInputElement>('[data-testid=token-pin]')!.value).toBe('');
	});
});
