import { describe, expect, it } from 'vitest';
import { toCsv } from './csv';

describe('toCsv', () => {
	it('quotes what needs quoting and keeps Chinese text', () => {
		const csv = toCsv(['名称', 'amount'], [
			['北山街, 12号', 380000],
			['say "hi"', null],
			['line\nbreak', 0]
		]);
		expect(csv).toBe('\uFEFF名称,amount\r\n"北山街, 12号",380000\r\n"say ""hi""",\r\n"line\nbreak",0\r\n');
	});

	it('defuses formulas', () => {
		expect(toCsv(['x'], [['=HYPERLINK("evil")'], ['-1'], [-1]])).toBe(
			'\uFEFFx\r\n"\'=HYPERLINK(""evil"")"\r\n\'-1\r\n-1\r\n'
		);
	});
});
