/**
 * What every screen shares, as reactive state: the sync status (online, heights, alarms), this
 * workstation's keys, the outbox and sync progress. Kept current by the core's events; `revision`
 * increases whenever the verified chain or the outbox changed, so screens know to reload their views.
 */
import type { Capabilities } from './bindings/Capabilities';
import type { Capability } from './bindings/Capability';
import type { ChainsView } from './bindings/ChainsView';
import type { KeyInfo } from './bindings/KeyInfo';
import type { OutboxItem } from './bindings/OutboxItem';
import type { SyncProgress } from './bindings/SyncProgress';
import type { SyncStatus } from './bindings/SyncStatus';
import { api, events, IpcError, asIpcError } from './ipc';
import { mergeOutbox, mergeOutboxItem } from './outbox';

export class AppState {
	status = $state<SyncStatus | null>(null);
	keys = $state<KeyInfo[]>([]);
	outbox = $state<OutboxItem[]>([]);
	progress = $state<SyncProgress | null>(null);
	/** The first load finished (keys known). */
	ready = $state(false);
	/** Why the core could not be reached, if it could not. */
	error = $state<IpcError | null>(null);
	revision = $state(0);
	/** The known chains and the active one; `needs_choice` until first run chose demo or real nodes. */
	chains = $state<ChainsView | null>(null);
	/** What the active key may do on the verified chain; null until known. */
	capabilities = $state<Capabilities | null>(null);

	#stops: Array<() => void> = [];
	#capabilityCalls = 0;

	get activeKey(): KeyInfo | undefined {
		return this.keys.find((k) => k.active);
	}

	/** Whether the verified chain lets the active key do `c` (the ledger still decides when signing). */
	may(c: Capability): boolean {
		return this.capabilities?.may.includes(c) ?? false;
	}

	/** Reloads the capabilities (after the chain moved, a key or the identity key changed). */
	async loadCapabilities(): Promise<void> {
		const call = ++this.#capabilityCalls;
		try {
			const caps = await api.capabilities();
			// A slower answer to an older call never replaces a newer one.
			if (call === this.#capabilityCalls) this.capabilities = caps;
		} catch {
			// Unknown (no chain yet, or the core is away): offer nothing rather than stale powers.
			if (call === this.#capabilityCalls) this.capabilities = null;
		}
	}

	get unacknowledgedAlarms() {
		return (this.status?.alarms ?? []).filter((a) => !a.acknowledged);
	}

	async start(): Promise<void> {
		this.#stops.push(
			await events.status((s) => {
				const moved = s.height !== this.status?.height;
				this.status = s;
				if (moved) {
					this.revision++;
					void this.loadCapabilities();
				}
			}),
			await events.outbox((o) => {
				mergeOutboxItem(this.outbox, o);
				this.revision++;
			}),
			await events.progress((p) => {
				this.progress = p.height >= p.target ? null : p;
			})
		);
		await this.refresh();
		this.ready = true;
	}

	stop(): void {
		for (const s of this.#stops.splice(0)) s();
	}

	async refresh(): Promise<void> {
		try {
			const [status, keys, outbox, chains] = await Promise.all([
				api.status(),
				api.keys(),
				api.outbox(),
				api.chains().catch(() => null)
			]);
			[this.status, this.keys, this.outbox] = [status, keys, mergeOutbox(this.outbox, outbox)];
			this.chains = chains;
			await this.loadCapabilities();
			this.error = null;
			this.revision++;
		} catch (e) {
			this.error = asIpcError(e);
		}
	}

	async acknowledge(id: number): Promise<void> {
		await api.acknowledgeAlarm(id);
		this.status = await api.status();
	}
}

export const app = new AppState();
