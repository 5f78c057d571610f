import { afterEach, describe, expect, it } from 'vitest';
import type { OutboxItem } from './bindings/OutboxItem';
import type { SignPreview } from './bindings/SignPreview';
import { app } from './app.svelte';
import { setTransport } from './ipc';
import { SignFlow } from './signing.svelte';
import { signPreview } from './testing/fixtures';

const preview: SignPreview = signPreview();

const queued: OutboxItem = {
	id: 'aa',
	kind: 'case.sign_step',
	seq: 3,
	status: 'queued',
	code: null,
	message: null,
	height: null,
	attempts: 0,
	created_at: '2026-11-24T08:00:00.000Z'
};

afterEach(() => {
	setTransport(null);
	app.outbox = [];
});

describe('SignFlow', () => {
	it('previews, confirms, and follows the outbox item', async () => {
		const calls: string[] = [];
		setTransport({
			invoke<T>(command: string): Promise<T> {
				calls.push(command);
				if (command === 'prepare_signature') return Promise.resolve(preview as T);
				if (command === 'confirm_signature') return Promise.resolve(queued as T);
				return Promise.reject({ code: 'x', message: command });
			},
			listen: () => Promise.resolve(() => {})
		});
		const flow = new SignFlow();
		await flow.prepare({ kind: 'withdraw_case', case_id: 'HZ', reason: '测试' });
		expect(flow.preview?.canonical_json).toBe('{"chain_id":"gov-demo"}');
		await flow.confirm();
		expect(calls).toEqual(['prepare_signature', 'confirm_signature']);
		expect(flow.preview).toBeNull();
		expect(flow.item?.status).toBe('queued');
		// The core reports the commit: the flow sees it.
		app.outbox[0] = { ...queued, status: 'committed', height: 12 };
		expect(flow.item?.height).toBe(12);
	});

	it('keeps the error code when the core refuses', async () => {
		setTransport({
			invoke: () => Promise.reject({ code: 'key.none', message: 'no signing key' }),
			listen: () => Promise.resolve(() => {})
		});
		const flow = new SignFlow();
		await flow.prepare({ kind: 'withdraw_case', case_id: 'HZ', reason: 'x' });
		expect(flow.preview).toBeNull();
		expect(flow.error?.code).toBe('key.none');
	});
});
