/**
 * One signature, step by step: ask the core for the preview (what would be signed, and whether the
 * ledger would refuse it), let the official confirm, then follow the outbox item until it is
 * committed or rejected.
 */
import type { OutboxItem } from './bindings/OutboxItem';
import type { SignPreview } from './bindings/SignPreview';
import type { SignRequest } from './bindings/SignRequest';
import { app } from './app.svelte';
import { api, IpcError, asIpcError } from './ipc';
import { mergeOutboxItem } from './outbox';

export class SignFlow {
	preview = $state<SignPreview | null>(null);
	busy = $state(false);
	error = $state<IpcError | null>(null);
	#submitted = $state<string | null>(null);

	/** The outbox item of the last confirmed signature, kept current by the core's events. */
	get item(): OutboxItem | undefined {
		return app.outbox.find((o) => o.id === this.#submitted);
	}

	async prepare(request: SignRequest): Promise<void> {
		this.error = null;
		this.busy = true;
		try {
			this.preview = await api.prepareSignature(request);
		} catch (e) {
			this.error = asIpcError(e);
		} finally {
			this.busy = false;
		}
	}

	cancel(): void {
		this.preview = null;
	}

	async confirm(): Promise<void> {
		if (!this.preview) return;
		this.busy = true;
		try {
			const item = await api.confirmSignature(this.preview.preview_id);
			this.#submitted = item.id;
			// The core's events may already have reported it further along.
			mergeOutboxItem(app.outbox, item);
			this.preview = null;
			app.revision++;
		} catch (e) {
			this.error = asIpcError(e);
		} finally {
			this.busy = false;
		}
	}
}
