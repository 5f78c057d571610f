// @vitest-environment happy-dom
import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';
import { IpcError } from './ipc';
import { loader, type Loader } from './load.svelte';

/** A promise the test settles by hand. */
function deferred<T>() {
	let resolve!: (v: T) => void;
	let reject!: (e: unknown) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}

/** Runs `make` inside an effect root (as a component would), returns what it made and the cleanup. */
function inRoot<T>(make: () => T): [T, () => void] {
	let made!: T;
	const stop = $effect.root(() => {
		made = make();
	});
	flushSync();
	return [made, stop];
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('loader', () => {
	it('is loading until the reply, then has the data', async () => {
		const reply = deferred<string[]>();
		const [l, stop] = inRoot(() => loader(() => reply.promise, { revision: () => 0 }));
		expect(l.state).toEqual({ status: 'loading' });
		expect(l.pending).toBe(true);
		reply.resolve(['HZ-1']);
		await tick();
		expect(l.state).toEqual({ status: 'ready', data: ['HZ-1'] });
		expect(l.data).toEqual(['HZ-1']);
		expect(l.pending).toBe(false);
		stop();
	});

	it('is loading, then an error with the core code', async () => {
		const reply = deferred<string[]>();
		const [l, stop] = inRoot(() => loader(() => reply.promise, { revision: () => 0 }));
		expect(l.state.status).toBe('loading');
		reply.reject(new IpcError({ code: 'cache.unavailable', message: 'no cache' }));
		await tick();
		expect(l.state.status).toBe('error');
		expect(l.error).toBeInstanceOf(IpcError);
		expect(l.error?.code).toBe('cache.unavailable');
		expect(l.error?.message).toBe('no cache');
		expect(l.data).toBeUndefined();
		stop();
	});

	it('turns any other failure into an IpcError (ui.ipc)', async () => {
		const [l, stop] = inRoot(() =>
			loader(
				() => {
					throw new Error('boom');
				},
				{ revision: () => 0 }
			)
		);
		await tick();
		expect(l.error?.code).toBe('ui.ipc');
		stop();
	});

	it('calls again when the revision or an input changes, and drops a stale reply', async () => {
		const replies: Array<ReturnType<typeof deferred<string>>> = [];
		const calls: string[] = [];
		let revision = $state(0);
		let id = $state('A');
		const [l, stop] = inRoot(() =>
			loader(
				() => {
					calls.push(id);
					const d = deferred<string>();
					replies.push(d);
					return d.promise;
				},
				{ revision: () => revision }
			)
		);
		id = 'B';
		flushSync();
		revision++;
		flushSync();
		expect(calls).toEqual(['A', 'B', 'B']);
		// The newest call answers first; the older ones answer late and must not overwrite it.
		replies[2]!.resolve('B, second');
		await tick();
		replies[0]!.resolve('A');
		replies[1]!.reject(new IpcError({ code: 'late', message: 'late failure' }));
		await tick();
		expect(l.state).toEqual({ status: 'ready', data: 'B, second' });
		stop();
	});

	it('keeps the shown data while calling again, and reloads on demand', async () => {
		let n = 0;
		let next = deferred<number>();
		const [l, stop] = inRoot(() =>
			loader(
				() => {
					n++;
					return next.promise;
				},
				{ revision: () => 0 }
			)
		);
		next.resolve(1);
		await tick();
		next = deferred<number>();
		(l as Loader<number>).reload();
		flushSync();
		expect(n).toBe(2);
		expect(l.pending).toBe(true);
		expect(l.data).toBe(1);
		next.resolve(2);
		await tick();
		expect(l.data).toBe(2);
		stop();
	});

	it('drops a reply that arrives after the component is gone', async () => {
		const reply = deferred<number>();
		const [l, stop] = inRoot(() => loader(() => reply.promise, { revision: () => 0 }));
		stop();
		reply.resolve(1);
		await tick();
		expect(l.state.status).toBe('loading');
	});

	it('waits while the function has nothing to load', async () => {
		let id = $state('');
		const [l, stop] = inRoot(() => loader(() => (id ? Promise.resolve(id) : null), { revision: () => 0 }));
		expect(l.pending).toBe(false);
		expect(l.state.status).toBe('loading');
		id = 'P-1';
		flushSync();
		await tick();
		expect(l.data).toBe('P-1');
		stop();
	});
});
