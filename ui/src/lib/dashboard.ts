/**
 * Dashboard series from the core's figures: approvals per department per week as stacked bars,
 * median stage times in hours, payments per project split into paid / pending / left. Pure.
 */
import type { ProjectPayments } from './bindings/ProjectPayments';
import type { StageTime } from './bindings/StageTime';
import type { WeekCount } from './bindings/WeekCount';

/** Stacked bars: x-axis categories and one series per name (`N`: the names there can be). */
export interface Stacked<N extends string = string> {
	categories: string[];
	series: { name: N; data: number[] }[];
}

/** Weeks in order on the x axis, one series per department (0 where it approved nothing). */
export function approvalsByWeek(rows: WeekCount[]): Stacked {
	const weeks = [...new Set(rows.map((r) => r.week))].sort();
	const depts = [...new Set(rows.map((r) => r.department_name || r.department))].sort();
	return {
		categories: weeks,
		series: depts.map((d) => ({
			name: d,
			data: weeks.map((w) =>
				rows.filter((r) => r.week === w && (r.department_name || r.department) === d).reduce((a, r) => a + r.count, 0)
			)
		}))
	};
}

export const HOUR_MS = 3_600_000;

/** The part of a bilingual `中文 / English` name for `locale` (the whole name if not bilingual). */
export function localName(name: string, locale: string): string {
	const [zh, en] = name.split(' / ');
	return (locale.startsWith('zh') ? zh : en) ?? name;
}

/** `2026-W48` → `W48` for axis labels (the tooltip keeps the year). */
export function shortWeek(week: string): string {
	return week.replace(/^\d{4}-/, '');
}

/** `template · stage` labels with the median in hours (one decimal), slowest first. */
export function stageHours(rows: StageTime[], locale = 'zh-CN'): { label: string; hours: number; cases: number }[] {
	return rows
		.map((r) => ({
			label: localName(r.stage, locale),
			hours: Math.round((r.median_ms / HOUR_MS) * 10) / 10,
			cases: r.cases
		}))
		.sort((a, b) => b.hours - a.hours || a.label.localeCompare(b.label));
}

/** Paid / pending / left per project, in yuan (fen / 100). `left` never goes below 0. */
export function paymentBars(rows: ProjectPayments[]): Stacked<'paid' | 'pending' | 'left'> {
	const yuan = (fen: number) => fen / 100;
	return {
		categories: rows.map((r) => r.name || r.project_id),
		series: [
			{ name: 'paid', data: rows.map((r) => yuan(r.paid)) },
			{ name: 'pending', data: rows.map((r) => yuan(r.pending)) },
			{ name: 'left', data: rows.map((r) => yuan(Math.max(0, r.budget - r.paid - r.pending))) }
		]
	};
}
