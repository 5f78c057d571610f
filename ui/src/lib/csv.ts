/**
 * CSV export of any table (RFC 4180: comma-separated, CRLF line ends, fields with a comma, quote or
 * line break quoted, quotes doubled), with a UTF-8 byte-order mark so spreadsheet programs read
 * Chinese text correctly. Cells that would start a formula are prefixed with an apostrophe
 * (CSV injection).
 */
export type Cell = string | number | null | undefined;

function field(c: Cell): string {
	let s = c === null || c === undefined ? '' : String(c);
	if (/^[=+\-@\t\r]/.test(s) && typeof c === 'string') s = `'${s}`;
	return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(header: string[], rows: Cell[][]): string {
	return '\uFEFF' + [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}
