/**
 * Keeping the UI's copy of the outbox current. An item only moves forward — queued → submitted →
 * committed or rejected — so an answer that arrives late (the reply to "confirm" after the core's
 * "committed" event, or a list read before that event) never takes an item back.
 */
import type { OutboxItem } from './bindings/OutboxItem';

const RANK: Record<string, number> = { queued: 0, submitted: 1, committed: 2, rejected: 2 };

const rank = (status: string): number => RANK[status] ?? 0;

/** Puts `item` into `list` (in place) unless the list already knows it further along. */
export function mergeOutboxItem(list: OutboxItem[], item: OutboxItem): void {
	const i = list.findIndex((o) => o.id === item.id);
	const known = list[i];
	if (!known) list.push(item);
	else if (rank(item.status) >= rank(known.status)) list[i] = item;
}

/** `fresh` (a full read of the outbox) merged with what `list` already knows. */
export function mergeOutbox(list: OutboxItem[], fresh: OutboxItem[]): OutboxItem[] {
	const merged = [...fresh];
	for (const known of list) {
		const i = merged.findIndex((o) => o.id === known.id);
		const read = merged[i];
		if (read && rank(known.status) > rank(read.status)) merged[i] = known;
	}
	return merged;
}
