import { afterEach, describe, expect, it } from 'vitest';
import { api, IpcError, setTransport, type Transport } from './ipc';

function fake(answers: Record<string, (args?: Record<string, unknown>) => unknown>): Transport & { calls: unknown[] } {
	const calls: unknown[] = [];
	return {
		calls,
		invoke<T>(command: string, args?: Record<string, unknown>): Promise<T> {
			calls.push([command, args]);
			const answer = answers[command];
			if (!answer) return Promise.reject({ code: 'test.unknown_command', message: command });
			try {
				return Promise.resolve(answer(args) as T);
			} catch (e) {
				return Promise.reject(e);
			}
		},
		listen() {
			return Promise.resolve(() => {});
		}
	};
}

afterEach(() => setTransport(null));

describe('ipc', () => {
	it('calls each command by its Rust name with camelCase arguments', async () => {
		const t = fake({ case_detail: () => ({ case_id: 'HZ-1' }), confirm_signature: () => ({ id: 'ab' }) });
		setTransport(t);
		await api.caseDetail('HZ-1');
		await api.confirmSignature('ab');
		expect(t.calls).toEqual([
			['case_detail', { caseId: 'HZ-1' }],
			['confirm_signature', { previewId: 'ab' }]
		]);
	});

	it('turns {code, message} into an IpcError with the code', async () => {
		setTransport(
			fake({
				prepare_signature: () => {
					throw { code: 'keychain.unavailable', message: 'no OS keychain is available' };
				}
			})
		);
		const e = await api
			.prepareSignature({ kind: 'withdraw_case', case_id: 'x', reason: 'y' })
			.catch((err: unknown) => err);
		expect(e).toBeInstanceOf(IpcError);
		expect((e as IpcError).code).toBe('keychain.unavailable');
	});

	it('outside the desktop app every call fails with ui.no_desktop', async () => {
		const e = await api.status().catch((err: unknown) => err);
		expect((e as IpcError).code).toBe('ui.no_desktop');
	});
});
