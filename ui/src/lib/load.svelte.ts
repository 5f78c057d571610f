/**
 * The one way a screen loads data from the core: `loader(() => api.cases())`.
 *
 * Created while a component initialises, the loader calls its function in an `$effect`, so it calls
 * it again whenever `app.revision` increases (the verified chain or the outbox changed) or any
 * reactive value the function reads before its first `await` changes (a route parameter, a filter).
 * Its `state` is exactly one of:
 *
 * - `loading`: nothing has arrived yet;
 * - `error`: the last call failed, with the core's `IpcError` (and its `code`);
 * - `ready`: the last call's data.
 *
 * A call again keeps the current state until its reply arrives (no flicker on every new block);
 * `pending` tells that a call is under way. A reply to an older call that arrives after a newer call
 * was made is dropped, so a slow answer for the previous case or filter never overwrites the current one.
 * Replies are kept as they are (not made deeply reactive): a screen replaces data, it does not edit it.
 * Render the state with `Loaded.svelte`.
 */
import { untrack } from 'svelte';
import { app } from './app.svelte';
import { asIpcError, type IpcError } from './ipc';

export type LoadState<T> =
	| { status: 'loading' }
	| { status: 'error'; error: IpcError }
	| { status: 'ready'; data: T };

export interface LoaderOptions {
	/**
	 * What makes every loader call again; defaults to `app.revision`. Tests pass their own.
	 */
	revision?: () => unknown;
}

/** Loads with `fetch`; `fetch` may return `null` when there is nothing to load yet (its inputs are unset). */
export type Fetch<T> = () => Promise<T> | null;

export class Loader<T> {
	#state = $state.raw<LoadState<T>>({ status: 'loading' });
	#pending = $state(false);
	#fetch: Fetch<T>;
	/** Increases with every call; a reply counts only if it answers the latest call. */
	#latest = 0;
	#again = $state(0);

	constructor(fetch: Fetch<T>, options: LoaderOptions = {}) {
		this.#fetch = fetch;
		const revision = options.revision ?? (() => app.revision);
		$effect(() => {
			void revision();
			void this.#again;
			this.#run();
			// Unmounted: whatever answers later is dropped.
			return () => void this.#latest++;
		});
	}

	/** `loading`, `error` (with the `IpcError`) or `ready` (with the data). */
	get state(): LoadState<T> {
		return this.#state;
	}

	/** The data of the last successful call, if the last call succeeded. */
	get data(): T | undefined {
		return this.#state.status === 'ready' ? this.#state.data : undefined;
	}

	/** The last call's failure, if it failed. */
	get error(): IpcError | null {
		return this.#state.status === 'error' ? this.#state.error : null;
	}

	/** A call is under way (also while older data or an older error is still shown). */
	get pending(): boolean {
		return this.#pending;
	}

	/** Calls again now (e.g. a "retry" button). */
	reload(): void {
		this.#again++;
	}

	#run(): void {
		const call = ++this.#latest;
		let promise: Promise<T> | null;
		try {
			// Reactive reads inside `fetch` (before its first await) are what makes the loader call again.
			promise = this.#fetch();
		} catch (e) {
			promise = Promise.reject(e);
		}
		untrack(() => {
			if (promise === null) {
				this.#pending = false;
				return;
			}
			this.#pending = true;
			promise.then(
				(data) => this.#settle(call, { status: 'ready', data }),
				(e: unknown) => this.#settle(call, { status: 'error', error: asIpcError(e) })
			);
		});
	}

	#settle(call: number, next: LoadState<T>): void {
		if (call !== this.#latest) return;
		this.#state = next;
		this.#pending = false;
	}
}

/** A `Loader` for this component (call it while the component initialises). */
export function loader<T>(fetch: Fetch<T>, options?: LoaderOptions): Loader<T> {
	return new Loader(fetch, options);
}
