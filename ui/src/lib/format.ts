/**
 * How values are shown: amounts from integer fen as ¥ yuan.jiao-fen, times in the user's locale,
 * hashes shortened for reading (full value in the title). Pure functions.
 */
import type { Locale } from './i18n';

/** `123456789` fen → `¥1,234,567.89` (grouping by locale; never through floating point). */
export function formatFen(fen: number, locale: Locale): string {
	if (!Number.isSafeInteger(fen) || fen < 0) return '—';
	const yuan = Math.floor(fen / 100);
	const cents = String(fen % 100).padStart(2, '0');
	const grouped = new Intl.NumberFormat(locale === 'en' ? 'en-US' : 'zh-CN', { useGrouping: true }).format(yuan);
	return `¥${grouped}.${cents}`;
}

/** An RFC 3339 ledger time in the user's locale and time zone. */
export function formatTime(iso: string | null | undefined, locale: Locale): string {
	if (!iso) return '—';
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return iso;
	return new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'zh-CN', {
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit'
	}).format(d);
}

/** Whole days (rounded down) from `iso` to `now`. */
export function daysSince(iso: string, now: Date = new Date()): number {
	const ms = now.getTime() - new Date(iso).getTime();
	return Math.max(0, Math.floor(ms / 86_400_000));
}

/** `abcdef…7890`: the first 8 and last 4 hex digits. */
export function shortHash(hex: string): string {
	return hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex;
}

/** Paid / pending / left as percentages of the budget (for a bar), summing to 100 when within budget. */
export function budgetShares(budget: number, paid: number, pending: number): { paid: number; pending: number; left: number } {
	if (budget <= 0) return { paid: 0, pending: 0, left: 0 };
	const p = (x: number) => Math.max(0, Math.min(100, (x / budget) * 100));
	const paidPct = p(paid);
	const pendingPct = Math.min(p(pending), 100 - paidPct);
	return { paid: paidPct, pending: pendingPct, left: Math.max(0, 100 - paidPct - pendingPct) };
}

/** A duration in ms as days/hours/minutes, coarsest first (`3 d 4 h`, `2 h 5 min`, `40 s`). */
export function formatDuration(ms: number, locale: Locale): string {
	const zh = locale !== 'en';
	const s = Math.max(0, Math.floor(ms / 1000));
	const d = Math.floor(s / 86_400);
	const h = Math.floor((s % 86_400) / 3600);
	const m = Math.floor((s % 3600) / 60);
	const u = zh ? { d: '天', h: '小时', m: '分钟', s: '秒' } : { d: ' d', h: ' h', m: ' min', s: ' s' };
	const sep = zh ? '' : ' ';
	if (d > 0) return `${d}${u.d}${sep}${h}${u.h}`;
	if (h > 0) return `${h}${u.h}${sep}${m}${u.m}`;
	if (m > 0) return `${m}${u.m}`;
	return `${s}${u.s}`;
}

/** Yuan as typed (`1260`, `1,260.5`, `¥1260.00`) → fen; null unless above zero with at most two decimals. */
export function parseYuan(text: string): number | null {
	const t = text.trim().replace(/^[¥￥]/, '').replaceAll(',', '');
	const m = /^(\d*)(?:\.(\d{0,2}))?$/.exec(t);
	if (!m || t === '' || t === '.') return null;
	const fen = Number(m[1] || '0') * 100 + Number((m[2] ?? '').padEnd(2, '0'));
	return Number.isSafeInteger(fen) && fen > 0 ? fen : null;
}
