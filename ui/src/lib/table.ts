/**
 * A table's columns, defined once: each column's header, its cell in the table and its value in the
 * CSV export. `DataTable.svelte` renders the header, the cells and the CSV link from the same list;
 * `CsvLink` takes the same list when the link stands apart from the table.
 *
 * A column with `cell` or `text` is shown in the table; a column with `csv` is in the CSV. Columns
 * with only `csv` are in the export only (e.g. the full transaction id), columns without `csv` in the
 * table only. The CSV keeps the order of the list.
 */
import type { Snippet } from 'svelte';
import type { Cell } from './csv';

export interface Column<R> {
	/** The header, in the table and in the CSV (unless `csvLabel`). */
	label: string;
	/** The CSV header where it differs from the table's. */
	csvLabel?: string;
	/** The cell in the table (markup). */
	cell?: Snippet<[R]>;
	/** The cell in the table (text), when no `cell` snippet. */
	text?: (row: R) => string | number;
	/** The value in the CSV export; without it the column is not exported. */
	csv?: (row: R) => Cell;
	/** Class of the header and data cells (e.g. `num`). */
	class?: string;
}

/** The columns the table shows. */
export function tableColumns<R>(columns: readonly Column<R>[]): Column<R>[] {
	return columns.filter((c) => c.cell !== undefined || c.text !== undefined);
}

/** The CSV export of `rows`: its header and its rows. */
export function csvTable<R>(columns: readonly Column<R>[], rows: readonly R[]): { header: string[]; rows: Cell[][] } {
	const exported = columns.filter((c) => c.csv !== undefined);
	return {
		header: exported.map((c) => c.csvLabel ?? c.label),
		rows: rows.map((r) => exported.map((c) => c.csv!(r)))
	};
}
