// @vitest-environment happy-dom
/**
 * First run: the demo or the department's nodes. Connecting shows the chain the nodes serve, refuses
 * (before asking the core) when it differs from the administrator's values, and sends those values
 * for the core to check again; a managed install (node URLs set by the administrator) offers no demo.
 */
import { flushSync, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { app } from '$lib/app.svelte';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { fakeCore, mountAlone, settle, typeInto, unmountAll } from '$lib/testing/fixtures';
import type { ChainsView } from '$lib/bindings/ChainsView';
import FirstRun from './FirstRun.svelte';

const GENESIS = 'ab'.repeat(32);

afterEach(() => {
	unmountAll();
	setTransport(null);
	app.chains = null;
});

const render = (): HTMLElement => mountAlone(FirstRun as Component);
const type = typeInto;

function chains(over: Partial<ChainsView> = {}): ChainsView {
	return {
		active: null,
		needs_choice: true,
		managed_nodes: [],
		chains: [{ id: 'demo', chain_id: '', genesis_hash: '', nodes: [], demo: true, active: false }],
		...over
	};
}

const q = <T extends Element>(el: HTMLElement, id: string) => el.querySelector<T>(`[data-testid=${id}]`)!;

describe('first run', () => {
	it('connects to the nodes only when they serve the chain the administrator gave', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(
			fakeCore(
				{
					test_node: (a: { url: string }) => ({ url: a.url, chain_id: 'gov-hz', genesis_hash: GENESIS, height: 3 }),
					connect_nodes: (a: { urls: string[] }) => ({ url: a.urls[0], chain_id: 'gov-hz', genesis_hash: GENESIS, height: 3 }),
					status: () => null,
					keys: [],
					outbox: [],
					chains: chains({ needs_choice: false, active: 'gov-hz-abababababababab' }),
					sync_now: () => null
				},
				calls
			)
		);
		app.chains = chains();
		const el = render();
		expect(q(el, 'first-run-demo').textContent).toContain(zhCN['firstRun.choose.demo']);
		q<HTMLButtonElement>(el, 'first-run-connect').click();
		flushSync();

		type(q(el, 'connect-nodes'), 'https://node.city.example:8443/');
		q<HTMLButtonElement>(el, 'connect-probe').click();
		await settle(flushSync);
		expect(q(el, 'served-chain-id').textContent).toBe('gov-hz');
		expect(q(el, 'served-genesis').textContent).toBe(GENESIS);

		// The administrator's genesis hash differs: refused here already.
		type(q(el, 'connect-chain-id'), 'gov-hz');
		type(q(el, 'connect-genesis'), 'cd'.repeat(32));
		expect(q(el, 'connect-mismatch').textContent).toBe(zhCN['firstRun.connect.mismatch']);
		expect(q<HTMLButtonElement>(el, 'connect-submit').disabled).toBe(true);

		// The right one (as pasted, upper case): connect, with the values for the core to check.
		type(q(el, 'connect-genesis'), GENESIS.toUpperCase());
		expect(el.querySelector('[data-testid=connect-mismatch]')).toBeNull();
		q<HTMLButtonElement>(el, 'connect-submit').click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'connect_nodes')?.[1]).toEqual({
			urls: ['https://node.city.example:8443/'],
			chainId: 'gov-hz',
			genesisHash: GENESIS.toUpperCase()
		});
		expect(calls.some(([c]) => c === 'use_demo')).toBe(false);
	});

	it('an untrusted certificate shows its fingerprint; trusting it pins exactly that one', async () => {
		const url = 'https://node.city.example:8443';
		const fingerprint = '3b0c 44a1 98fc 1c14 9afb f4c8 996f b924 27ae 41e4 649b 934c a495 991b 7852 b855';
		let pinned = '';
		const calls: Array<[string, unknown]> = [];
		setTransport(
			fakeCore(
				{
					connect_nodes: () =>
						pinned
							? { url, chain_id: 'gov-hz', genesis_hash: GENESIS, height: 3 }
							: Promise.reject({ code: 'network.untrusted_certificate', message: 'not trusted', node: url, fingerprint }),
					pin_node_certificate: (a: { fingerprint: string }) => {
						pinned = a.fingerprint;
						return null;
					},
					status: () => null,
					keys: [],
					outbox: [],
					chains: chains({ needs_choice: false, active: 'gov-hz-abababababababab' }),
					sync_now: () => null
				},
				calls
			)
		);
		app.chains = chains();
		const el = render();
		q<HTMLButtonElement>(el, 'first-run-connect').click();
		flushSync();
		type(q(el, 'connect-nodes'), url);
		q<HTMLButtonElement>(el, 'connect-submit').click();
		await settle(flushSync);
		expect(q(el, 'connect-cert-fingerprint').textContent).toBe(fingerprint);
		q<HTMLButtonElement>(el, 'connect-trust-cert').click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'pin_node_certificate')?.[1]).toEqual({ url, fingerprint });
		expect(el.querySelector('[data-testid=connect-cert-fingerprint]')).toBeNull();
		q<HTMLButtonElement>(el, 'connect-submit').click();
		await settle(flushSync);
		expect(calls.filter(([c]) => c === 'connect_nodes').length).toBe(2);
		expect(el.querySelector('[role=alert]')).toBeNull();
	});

	it('a managed install goes straight to its nodes, with no demo offered', () => {
		setTransport(fakeCore({}));
		app.chains = chains({ managed_nodes: ['https://a.example', 'https://b.example'], chains: [] });
		const el = render();
		expect(el.querySelector('[data-testid=first-run-demo]')).toBeNull();
		expect(q<HTMLTextAreaElement>(el, 'connect-nodes').value).toBe('https://a.example\nhttps://b.example');
		expect(el.textContent).toContain(zhCN['firstRun.connect.managed']);
	});
});
