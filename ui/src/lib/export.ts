/**
 * CSV export of a table the core serves in pages (a payroll of 100,000 lines, 300,000 cases): every
 * row is read a page at a time, `progress` told after each, then one CSV file is downloaded. The
 * columns are the table's own (see `$lib/table`), so the export has exactly the table's CSV columns.
 */
import { toCsv } from './csv';
import { csvTable, type Column } from './table';

/** Rows per request while exporting. */
export const EXPORT_PAGE = 500;

/** Reads rows from `offset` 0 until `total` (or an empty page) with `page`, then downloads `name`.csv. */
export async function exportPaged<R>(
	name: string,
	columns: readonly Column<R>[],
	total: number,
	page: (offset: number, limit: number) => Promise<R[]>,
	progress: (done: number) => void,
	pageSize = EXPORT_PAGE
): Promise<void> {
	const rows: R[] = [];
	while (rows.length < total) {
		const next = await page(rows.length, pageSize);
		if (next.length === 0) break;
		rows.push(...next);
		progress(rows.length);
	}
	const csv = csvTable(columns, rows);
	download(`${name}.csv`, toCsv(csv.header, csv.rows));
}

/** Offers `text` as a file download. */
export function download(file: string, text: string): void {
	const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
	const a = document.createElement('a');
	a.href = url;
	a.download = file;
	a.click();
	setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
