// A domain's recipient list as CSV (RFC 4180), and the way back. A spreadsheet takes a cell that
// starts with "=", "+", "-" or "@" (or a tab or CR) as a formula (CSV injection); OWASP's advice is
// to prefix such a cell with a single quote, which the import takes off again, so an export
// imports as the same list.
const FORMULA_START = /^[=+\-@\t\r]/;
const NEUTRALISED = /^'[=+\-@\t\r]/;

/** One CSV cell: neutralised when a spreadsheet would run it, quoted when it holds a quote, comma or line end. */
export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The export: an "address" header, then one address per line, CRLF line ends. */
export function recipientsCsv(addresses: string[]): string {
  return ["address", ...addresses.map(csvCell)].join("\r\n") + "\r\n";
}

/** A cell of an imported file back to the value exported (the quote csvCell put in front taken off). */
export function csvCellValue(cell: string): string {
  return NEUTRALISED.test(cell) ? cell.slice(1) : cell;
}
