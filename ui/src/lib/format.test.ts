import { describe, expect, it } from 'vitest';
import { budgetShares, daysSince, formatDuration, formatFen, parseYuan, shortHash } from './format';

describe('formatFen', () => {
	it('shows integer fen as yuan with two decimals and grouping', () => {
		expect(formatFen(0, 'zh-CN')).toBe('¥0.00');
		expect(formatFen(1, 'zh-CN')).toBe('¥0.01');
		expect(formatFen(10, 'en')).toBe('¥0.10');
		expect(formatFen(123_456_789, 'en')).toBe('¥1,234,567.89');
		expect(formatFen(120_000_000, 'zh-CN')).toBe('¥1,200,000.00');
	});

	it('is exact up to 2^53 − 1 and refuses what is not a fen amount', () => {
		expect(formatFen(9_007_199_254_740_991, 'en')).toBe('¥90,071,992,547,409.91');
		expect(formatFen(-1, 'en')).toBe('—');
		expect(formatFen(1.5, 'en')).toBe('—');
		expect(formatFen(2 ** 53, 'en')).toBe('—');
	});
});

describe('budgetShares', () => {
	it('splits the bar into paid, pending and left', () => {
		expect(budgetShares(1000, 250, 250)).toEqual({ paid: 25, pending: 25, left: 50 });
		expect(budgetShares(0, 0, 0)).toEqual({ paid: 0, pending: 0, left: 0 });
	});

	it('never draws more than the whole bar', () => {
		const s = budgetShares(100, 80, 50);
		expect(s.paid + s.pending + s.left).toBe(100);
		expect(s.pending).toBe(20);
	});
});

describe('shortHash and daysSince', () => {
	it('keeps the first 8 and last 4 hex digits', () => {
		expect(shortHash('0123456789abcdef0123456789abcdef')).toBe('01234567…cdef');
		expect(shortHash('abc')).toBe('abc');
	});

	it('counts whole days', () => {
		const now = new Date('2026-11-24T12:00:00Z');
		expect(daysSince('2026-11-20T13:00:00Z', now)).toBe(3);
		expect(daysSince('2026-11-25T00:00:00Z', now)).toBe(0);
	});
});

describe('formatDuration', () => {
	it('shows the two coarsest units', () => {
		expect(formatDuration((3 * 86_400 + 4 * 3600 + 5) * 1000, 'en')).toBe('3 d 4 h');
		expect(formatDuration((2 * 3600 + 5 * 60) * 1000, 'zh-CN')).toBe('2小时5分钟');
		expect(formatDuration(40_000, 'en')).toBe('40 s');
		expect(formatDuration(-5, 'en')).toBe('0 s');
	});
});

describe('parseYuan', () => {
	it('reads yuan as typed into fen, exactly', () => {
		expect(parseYuan('1260')).toBe(126000);
		expect(parseYuan('1,260.5')).toBe(126050);
		expect(parseYuan('￥0.01')).toBe(1);
		expect(parseYuan(' 12.30 ')).toBe(1230);
		for (const bad of ['', '0', '0.00', '-5', '1.234', '12a', '.', '1e3']) expect(parseYuan(bad), bad).toBeNull();
	});
});
