import { describe, expect, it } from 'vitest';
import type { OutboxItem } from './bindings/OutboxItem';
import type { OutboxStatus } from './bindings/OutboxStatus';
import { mergeOutbox, mergeOutboxItem } from './outbox';

const item = (id: string, status: OutboxStatus, height: number | null = null): OutboxItem => ({
	id,
	kind: 'payment.confirm',
	seq: 1,
	status,
	code: null,
	message: null,
	height,
	attempts: 0,
	created_at: '2026-11-24T08:00:00.000Z'
});

describe('outbox merging', () => {
	it('moves items forward and adds new ones', () => {
		const list = [item('a', 'queued')];
		mergeOutboxItem(list, item('a', 'submitted'));
		mergeOutboxItem(list, item('b', 'queued'));
		expect(list.map((o) => [o.id, o.status])).toEqual([
			['a', 'submitted'],
			['b', 'queued']
		]);
	});

	it('never takes a committed item back (a late reply to confirm)', () => {
		const list: OutboxItem[] = [];
		mergeOutboxItem(list, item('a', 'committed', 63)); // the core's event came first
		mergeOutboxItem(list, item('a', 'submitted')); // then the command's reply
		expect(list[0]?.status).toBe('committed');
		expect(list[0]?.height).toBe(63);
	});

	it('keeps what events said when a full read is older', () => {
		const list = [item('a', 'committed', 7)];
		const merged = mergeOutbox(list, [item('a', 'submitted'), item('b', 'queued')]);
		expect(merged.map((o) => o.status)).toEqual(['committed', 'queued']);
		// A newer read wins.
		expect(mergeOutbox([item('a', 'submitted')], [item('a', 'rejected')])[0]?.status).toBe('rejected');
	});
});
