/**
 * What an alarm means to the official: its title and explanation translated by code, and what to do
 * next. The core's own detail (English, technical) and the raw code and node stay visible for support.
 *
 * `ALARM_CODES` are the codes the core can raise as alarms (checked against the Rust sources by
 * alarms.test.ts); any other code (a ledger rule a block breaks, a cache failure) gets a family's
 * or the generic text of a block that failed verification, never a raw key.
 */
import type { Alarm } from './bindings/Alarm';
import type { MessageKey } from './i18n';

/** What to do next, by kind of failure. */
export type AlarmNext = 'node' | 'fork' | 'pin' | 'cache';

export const ALARM_CODES = {
	'block.wrong_chain': 'pin',
	'block.height': 'node',
	'block.prev_hash': 'fork',
	'block.time_backwards': 'node',
	'block.tx_count': 'node',
	'block.tx_root': 'node',
	'block.log_size': 'node',
	'block.log_root': 'node',
	'block.unknown_proposer': 'node',
	'block.signature': 'node',
	'block.tx': 'node',
	'block.too_large': 'node',
	'block.shape': 'node',
	'block.state_root': 'node',
	'tx.bad_signature': 'node',
	'chain.not_pinned': 'pin',
	'note.too_large': 'node',
	'note.malformed': 'node',
	'note.bad_signature_line': 'node',
	'note.bad_key_name': 'node',
	'note.bad_vkey': 'node',
	'note.invalid_signature': 'node',
	'checkpoint.malformed': 'node',
	'checkpoint.missing_log_signature': 'node',
	'checkpoint.quorum_not_met': 'node',
	'checkpoint.wrong_origin': 'pin',
	'checkpoint.no_chain': 'node',
	'checkpoint.split_view': 'fork',
	'checkpoint.not_a_block_boundary': 'node',
	'checkpoint.inconsistent': 'fork',
	'proof.shape': 'node',
	'blacklist.shape': 'node',
	'blacklist.differs': 'node',
	'cache.state_mismatch': 'cache'
} as const satisfies Record<string, AlarmNext>;

export type AlarmCode = keyof typeof ALARM_CODES;

/** The node name the core gives alarms about its own cache. */
export const LOCAL_CACHE = 'local cache';

export function isKnownAlarmCode(code: string): code is AlarmCode {
	return Object.prototype.hasOwnProperty.call(ALARM_CODES, code);
}

/** The catalog keys that explain an alarm: title, explanation and next step. */
export function alarmText(a: Pick<Alarm, 'code' | 'node'>): { title: MessageKey; detail: MessageKey; next: MessageKey } {
	if (a.node === LOCAL_CACHE && a.code !== 'cache.state_mismatch') {
		return { title: 'alarm.cache.title', detail: 'alarm.cache.detail', next: 'alarm.next.cache' };
	}
	if (isKnownAlarmCode(a.code)) {
		return {
			title: `alarm.${a.code}.title` as MessageKey,
			detail: `alarm.${a.code}.detail` as MessageKey,
			next: `alarm.next.${ALARM_CODES[a.code]}` as MessageKey
		};
	}
	const family = a.code.split('.')[0];
	if (family === 'note' || family === 'checkpoint') {
		return { title: 'alarm.checkpoint.title', detail: 'alarm.checkpoint.detail', next: 'alarm.next.node' };
	}
	// Anything else the sync raises is a block that failed verification: a ledger rule broken by one
	// of its transactions (the code is the rule's) or its encoding.
	return { title: 'alarm.rules.title', detail: 'alarm.rules.detail', next: 'alarm.next.node' };
}
