import { describe, expect, it } from 'vitest';
import { csvTable, tableColumns, type Column } from './table';

type Row = { id: string; amount: number; note: string | null };

const columns: Column<Row>[] = [
	{ label: 'ID', csv: (r) => r.id },
	{ label: 'Amount', csvLabel: 'amount_fen', class: 'num', text: (r) => `¥${r.amount / 100}`, csv: (r) => r.amount },
	{ label: 'Shown only', text: (r) => r.note ?? '—' },
	{ label: 'note', csv: (r) => r.note }
];

describe('column definitions', () => {
	it('the table shows the columns with a cell, in order', () => {
		expect(tableColumns(columns).map((c) => c.label)).toEqual(['Amount', 'Shown only']);
	});

	it('the CSV has the columns with a value, in order, with their CSV headers', () => {
		expect(csvTable(columns, [{ id: 'P-1', amount: 1050, note: null }])).toEqual({
			header: ['ID', 'amount_fen', 'note'],
			rows: [['P-1', 1050, null]]
		});
	});
});
