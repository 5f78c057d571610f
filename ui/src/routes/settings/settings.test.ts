// @vitest-environment happy-dom
/**
 * Settings keeps what the user types: the status refreshes every few seconds, and a refresh must not
 * overwrite a field the user edited (only a pristine field follows the core; saving makes it pristine).
 */
import { flushSync, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { app } from '$lib/app.svelte';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { fakeCore, mountAlone, settle, syncStatus, typeInto, unmountAll } from '$lib/testing/fixtures';
import SettingsPage from './+page.svelte';


afterEach(() => {
	unmountAll();
	setTransport(null);
	app.status = null;
});

const render = (): HTMLElement => mountAlone(SettingsPage as Component);
const type = typeInto;

describe('the settings page', () => {
	it('keeps a typed node address through status refreshes, and follows the core again after saving', async () => {
		const saved = ['http://a.example:7700', 'http://b.example:7700'];
		const calls: Array<[string, unknown]> = [];
		setTransport(
			fakeCore(
				{
					set_nodes: (args: { urls: string[] }) => syncStatus({ nodes: args.urls }),
					status: () => syncStatus({ nodes: saved }),
					keys: [],
					outbox: []
				},
				calls
			)
		);
		app.status = syncStatus({ nodes: ['http://old.example:7700'] });
		const el = render();
		const box = el.querySelector<HTMLTextAreaElement>('textarea#nodes')!;
		// Pristine: it shows what the core has.
		expect(box.value).toBe('http://old.example:7700');

		type(box, saved.join('\n'));
		expect(el.querySelector('[data-testid=nodes-unsaved]')?.textContent).toBe(zhCN['settings.nodes.unsaved']);
		// The status refresh (every ~5 s) comes in, several times, with the old list.
		for (let i = 0; i < 3; i++) {
			app.status = syncStatus({ nodes: ['http://old.example:7700'], height: 42 + i });
			flushSync();
		}
		expect(box.value).toBe(saved.join('\n'));

		// Saving sends what was typed; the field is pristine again and follows the core.
		el.querySelector<HTMLButtonElement>(`button.primary`)!.click();
		await settle(flushSync);
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'set_nodes')?.[1]).toEqual({ urls: saved });
		expect(el.querySelector('[data-testid=nodes-unsaved]')).toBeNull();
		app.status = syncStatus({ nodes: ['http://c.example:7700'] });
		flushSync();
		expect(box.value).toBe('http://c.example:7700');
	});

	it('shows the fingerprint of a certificate the OS does not trust, and trusts exactly that one', async () => {
		const url = 'https://node.city.example:7700';
		const fingerprint = '3b0c 44a1 98fc 1c14 9afb f4c8 996f b924 27ae 41e4 649b 934c a495 991b 7852 b855';
		let pinned = '';
		const calls: Array<[string, unknown]> = [];
		setTransport(
			fakeCore(
				{
					test_node: () =>
						pinned === fingerprint
							? { url, chain_id: 'gov-hz', genesis_hash: 'ab'.repeat(32), height: 7 }
							: Promise.reject({
									code: 'network.untrusted_certificate',
									message: `${url} presented a TLS certificate this computer does not trust`,
									node: url,
									fingerprint
								}),
					pin_node_certificate: (args: { url: string; fingerprint: string }) => {
						pinned = args.fingerprint;
						return syncStatus({ nodes: [url] });
					},
					status: () => syncStatus({ nodes: [url] }),
					keys: [],
					outbox: []
				},
				calls
			)
		);
		app.status = syncStatus({ nodes: [url] });
		const el = render();
		el.querySelector<HTMLButtonElement>('button.secondary')!.click();
		await settle(flushSync);
		await settle(flushSync);
		expect(el.querySelector('[data-testid=cert-fingerprint]')?.textContent).toBe(fingerprint);
		expect(el.textContent).toContain('network.untrusted_certificate');

		el.querySelector<HTMLButtonElement>('[data-testid=trust-cert]')!.click();
		await settle(flushSync);
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'pin_node_certificate')?.[1]).toEqual({ url, fingerprint });
		expect(el.querySelector('[data-testid=cert-fingerprint]')).toBeNull();
		expect(el.textContent).toContain('gov-hz');
	});

	it('keeps a typed witness quorum through status refreshes', () => {
		setTransport(fakeCore({}));
		app.status = syncStatus({ witness_quorum: 0 });
		const el = render();
		const quorum = el.querySelector<HTMLInputElement>('[data-testid=witness-quorum]')!;
		expect(quorum.value).toBe('0');
		type(quorum, '2');
		app.status = syncStatus({ witness_quorum: 0, height: 43 });
		flushSync();
		expect(quorum.value).toBe('2');
	});
});
