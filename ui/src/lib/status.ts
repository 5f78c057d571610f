/**
 * What the status bar and the empty states may claim, from the core's status (`SyncStatus.state`,
 * derived in the core from the last sync's outcome and the open alarms). "Verified" only when the
 * core says so; an open alarm is shown as the alarm, never as green.
 */
import type { SyncProgress } from './bindings/SyncProgress';
import type { SyncStatus } from './bindings/SyncStatus';
import { t } from './i18n';

export type StatusTone = 'ok' | 'busy' | 'bad' | 'muted';

export interface StatusView {
	/** `SyncStatus.state`, or `unknown` before the core answered. */
	state: SyncStatus['state'] | 'unknown';
	tone: StatusTone;
	text: string;
	/** Open (unacknowledged) alarm groups. */
	alarms: number;
}

export function openAlarms(s: SyncStatus | null): number {
	return (s?.alarms ?? []).filter((a) => !a.acknowledged).length;
}

/** "Syncing 1,200/50,652 · 1,450 blocks/s · about 35 s left" (pace and time once known). */
export function syncingText(p: SyncProgress): string {
	const text = t('status.syncing', { height: p.height.toLocaleString(), target: p.target.toLocaleString() });
	if (p.blocks_per_second == null || p.seconds_left == null) return text;
	const left = p.seconds_left >= 90 ? t('status.minutesLeft', { count: Math.round(p.seconds_left / 60) }) : t('status.secondsLeft', { count: p.seconds_left });
	return `${text} · ${t('status.pace', { rate: p.blocks_per_second.toLocaleString() })} · ${left}`;
}

export function statusView(s: SyncStatus | null, progress: SyncProgress | null): StatusView {
	if (!s) return { state: 'unknown', tone: 'muted', text: t('status.disconnected'), alarms: 0 };
	const alarms = openAlarms(s);
	// The core's state already puts an alarm first; an alarm seen here wins regardless.
	const state = alarms > 0 ? 'alarm' : s.state;
	switch (state) {
		case 'alarm':
			return { state, tone: 'bad', text: t('status.alarm', { count: Math.max(alarms, 1) }), alarms };
		case 'verified':
			return { state, tone: 'ok', text: t(s.embedded ? 'status.verifiedEmbedded' : 'status.verified'), alarms };
		case 'syncing':
			return {
				state,
				tone: 'busy',
				text: progress ? syncingText(progress) : t('status.syncingIdle'),
				alarms
			};
		case 'offline':
			return { state, tone: 'bad', text: t('status.offline'), alarms };
		case 'not_witnessed':
			return { state, tone: 'busy', text: t('status.notWitnessed'), alarms };
		default:
			return {
				state,
				tone: 'muted',
				text: s.last_error ? t('status.unverifiedError', { code: s.last_error.code }) : t('status.unverified'),
				alarms
			};
	}
}

/** Why a list is empty, so that "nothing here" is said only when it is true. */
export type EmptyReason = 'none' | 'syncing' | 'alarm' | 'verified' | 'cached';

export function emptyReason(s: SyncStatus | null): EmptyReason {
	if (!s) return 'none';
	if (openAlarms(s) > 0 || s.state === 'alarm') return 'alarm';
	if (s.state === 'verified') return 'verified';
	if (s.state === 'syncing') return 'syncing';
	return s.height !== null ? 'cached' : 'none';
}

export const EMPTY_TEXT = {
	none: 'empty.noData',
	syncing: 'empty.syncing',
	alarm: 'empty.alarm',
	verified: 'empty.verified',
	cached: 'empty.cached'
} as const satisfies Record<EmptyReason, string>;
