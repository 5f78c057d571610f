/**
 * Pure helpers of the administration screen: a stage-by-stage difference between two template
 * versions, a blank stage, and ledger times from date inputs.
 */
import type { OfficialRow } from './bindings/OfficialRow';
import type { StageDraft } from './bindings/StageDraft';
import type { WorkflowDraft } from './bindings/WorkflowDraft';

export type StageChange = 'same' | 'changed' | 'added' | 'removed';

export interface StageDiff {
	/** Stage index (in the newer version; in the older one for a removed stage). */
	index: number;
	change: StageChange;
	older: StageDraft | null;
	newer: StageDraft | null;
	/** Fields that differ (for `changed`). */
	fields: (keyof StageDraft)[];
}

const FIELDS: (keyof StageDraft)[] = [
	'name',
	'department',
	'role',
	'threshold',
	'group',
	'deadline_secs',
	'on_reject',
	'return_to'
];

/** Stage by stage, what changed from `older` to `newer` (stages compared at the same index). */
export function diffTemplates(older: WorkflowDraft, newer: WorkflowDraft): StageDiff[] {
	const n = Math.max(older.stages.length, newer.stages.length);
	const out: StageDiff[] = [];
	for (let i = 0; i < n; i++) {
		const a = older.stages[i] ?? null;
		const b = newer.stages[i] ?? null;
		if (a && b) {
			const fields = FIELDS.filter((f) => (a[f] ?? null) !== (b[f] ?? null));
			out.push({ index: i, change: fields.length ? 'changed' : 'same', older: a, newer: b, fields });
		} else if (b) {
			out.push({ index: i, change: 'added', older: null, newer: b, fields: [] });
		} else if (a) {
			out.push({ index: i, change: 'removed', older: a, newer: null, fields: [] });
		}
	}
	return out;
}

/** A new stage for the designer, in `department`. */
export function blankStage(department: string): StageDraft {
	return {
		name: '',
		department,
		role: '',
		threshold: 1,
		group: null,
		deadline_secs: null,
		on_reject: 'end',
		return_to: null
	};
}

/**
 * The ledger's time (RFC 3339 UTC with milliseconds) of the start of `date` (`YYYY-MM-DD` from a date
 * input) in China Standard Time (UTC+8), where the departments are; `null` for an empty input.
 */
export function ledgerTime(date: string): string | null {
	if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
	const t = Date.parse(`${date}T00:00:00.000+08:00`);
	return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** The date (`YYYY-MM-DD`) a ledger time falls on in China Standard Time: the inverse of `ledgerTime`. */
export function chinaDate(time: string): string {
	const t = Date.parse(time);
	return Number.isNaN(t) ? time : new Date(t + 8 * 3600_000).toISOString().slice(0, 10);
}

/** Days (whole or fractional) of a stage deadline in seconds, for display and editing. */
export function deadlineDays(secs: number | null): string {
	return secs == null ? '' : String(Math.round((secs / 86400) * 100) / 100);
}

/** Seconds of a deadline given in days; `null` when empty or not positive. */
export function deadlineSecs(days: string): number | null {
	const d = Number(days);
	return days.trim() === '' || !Number.isFinite(d) || d <= 0 ? null : Math.round(d * 86400);
}

/** One line saying what a pending admin action does, from its kind and canonical payload. */
export function summarizeAction(kind: string, payload: string | null): string {
	if (!payload) return '';
	let p: Record<string, unknown>;
	try {
		p = JSON.parse(payload) as Record<string, unknown>;
	} catch {
		return '';
	}
	const s = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : '');
	switch (kind) {
		case 'department.add':
			return `${s('name')} (${s('id')})${s('parent') ? ` ⊂ ${s('parent')}` : ''}`;
		case 'department.retire_node':
		case 'official.register':
			return [s('name'), s('department')].filter(Boolean).join(' → ');
		case 'role.grant':
			return `${s('role')}@${s('department')}:${s('scope')} → ${s('official').slice(0, 16)}…`;
		case 'official.revoke':
			return `${s('official').slice(0, 16)}…`;
		case 'role.revoke':
			return `${s('grant').slice(0, 16)}…`;
		default:
			return '';
	}
}

/** Who holds a role at a scope in a department: one row per (department, role, scope). */
export interface RoleHolders {
	department: string;
	role: string;
	scope: string;
	/** Names of the active officials whose grant counts now. */
	now: string[];
	/** Names of those whose grant counts only from a later date (expired grants are left out). */
	later: string[];
}

/** "Who can do what where": the grants of active officials, by department, role and scope. */
export function byRole(officials: OfficialRow[]): RoleHolders[] {
	const rows = new Map<string, RoleHolders>();
	for (const o of officials) {
		if (o.revoked_at !== null) continue;
		for (const g of o.grants) {
			const key = [g.department, g.role, g.scope].join('\u0000');
			if (!g.active && !g.later) continue; // expired
			let row = rows.get(key);
			if (!row) {
				row = { department: g.department, role: g.role, scope: g.scope, now: [], later: [] };
				rows.set(key, row);
			}
			(g.active ? row.now : row.later).push(o.official.name);
		}
	}
	return [...rows.values()].sort(
		(a, b) => a.department.localeCompare(b.department) || a.role.localeCompare(b.role) || a.scope.localeCompare(b.scope)
	);
}

/** Whether `o` matches the filter text (name, fingerprint, department, a role or a scope). */
export function officialMatches(o: OfficialRow, filter: string): boolean {
	const f = filter.trim().toLowerCase();
	if (f === '') return true;
	const compact = f.replaceAll(' ', '');
	const hay = [o.official.name, o.official.fingerprint.replaceAll(' ', ''), o.official.department, ...o.grants.flatMap((g) => [g.role, g.scope])];
	return hay.some((h) => h.toLowerCase().includes(f) || h.toLowerCase().includes(compact));
}
