/** Test fixtures: the core's answers as the UI receives them. Used by Vitest only. */
import { flushSync, mount, unmount, type Component } from 'svelte';
import type { Alarm } from '../bindings/Alarm';
import type { SignPreview } from '../bindings/SignPreview';
import type { SyncStatus } from '../bindings/SyncStatus';
import type { Transport } from '../ipc';

export function syncStatus(over: Partial<SyncStatus> = {}): SyncStatus {
	return {
		state: 'verified',
		chain_id: 'govchain-demo',
		genesis_hash: 'ab'.repeat(32),
		pinned: false,
		online: true,
		syncing: false,
		node: 'http://node.example:7700',
		nodes: ['http://node.example:7700'],
		embedded: false,
		height: 42,
		log_size: 120,
		checkpoint_size: 120,
		checkpoint_signer: 'city.node',
		witness_quorum: 0,
		checkpoint_witnesses: [],
		last_sync_at: '2026-11-24T08:00:00.000Z',
		last_error: null,
		outbox_pending: 0,
		alarms: [],
		...over
	};
}

export function alarm(over: Partial<Alarm> = {}): Alarm {
	return {
		id: 1,
		at: '2026-11-24T08:00:20.000Z',
		code: 'checkpoint.missing_log_signature',
		node: 'http://node.example:7700',
		detail: 'no signature by a department node of this chain',
		acknowledged: false,
		count: 5,
		first_at: '2026-11-24T08:00:00.000Z',
		last_at: '2026-11-24T08:00:20.000Z',
		...over
	};
}

/** A core whose commands answer from `answers` (a value, or a function of the arguments). */
export function fakeCore(answers: Record<string, unknown>, calls: Array<[string, unknown]> = []): Transport {
	return {
		invoke<T>(command: string, args?: Record<string, unknown>): Promise<T> {
			calls.push([command, args]);
			if (!(command in answers)) return Promise.reject({ code: 'test.unknown_command', message: command });
			const a = answers[command];
			return Promise.resolve((typeof a === 'function' ? a(args) : a) as T);
		},
		listen: () => Promise.resolve(() => {})
	};
}

/** Lets the fake core answer, then Svelte show it. */
export async function settle(flush: () => void): Promise<void> {
	flush();
	await new Promise((r) => setTimeout(r, 0));
	flush();
}

const mounted: Array<Record<string, unknown>> = [];

/** Mounts `component` as the whole document body (happy-dom) and renders it. */
export function mountAlone(component: Component): HTMLElement {
	const target = document.createElement('main');
	document.body.replaceChildren(target);
	mounted.push(mount(component, { target }));
	flushSync();
	return target;
}

/** Unmounts everything `mountAlone` mounted (call in `afterEach`). */
export function unmountAll(): void {
	for (const m of mounted.splice(0)) unmount(m);
}

/** Types into a field as a user would: the value, then an `input` event. */
export function typeInto(el: HTMLInputElement | HTMLTextAreaElement, text: string): void {
	el.value = text;
	el.dispatchEvent(new Event('input', { bubbles: true }));
	flushSync();
}

/** A signing preview of a fire-stage approval, with `over` replacing its members. */
export function signPreview(over: Partial<SignPreview> = {}): SignPreview {
	return {
		preview_id: 'aa',
		kind: 'case.sign_step',
		canonical_json: '{"chain_id":"gov-demo"}',
		sha256: '11',
		tx_id: 'aa',
		signer_fingerprint: '0000 1111',
		seq: 3,
		would_reject: null,
		follow_ups: 0,
		commitment_matches: null,
		token: null,
		...over
	};
}
