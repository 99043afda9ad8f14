// A domain's recipient list as CSV (RFC 4180), and the way back. A spreadsheet takes a cell that
// starts with "=", "+", "-" or "@" (or a tab or CR) as a formula (CSV injection); OWASP's advice is
// to prefix such a cell with a single quote, which the import takes off again, so an export
// imports as the same list.
// The import reads what people paste or upload: one address per line, `Name <addr>` or `<addr>`
// (RFC 5322 §3.4 name-addr), or CSV with the address in any cell and a header row on top.
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

/** The cells of one line: separated by comma, semicolon or tab (spreadsheets write all three), RFC 4180 quoting. */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell.trim() === "") {
      quoted = true;
      cell = "";
    } else if (c === "," || c === ";" || c === "\t") {
      cells.push(cell.trim());
      cell = "";
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

/** Header cells a spreadsheet export puts above the addresses ("address", "E-mail", "Email Address" …). */
const HEADER_CELL = /^(e-?mail|mail|address|recipient)s?( address(es)?)?$/i;
/** `<addr>` at the end of a name-addr (RFC 5322 §3.4): the address is what is inside the brackets. */
const ANGLE_ADDR = /<([^<>\s]+@[^<>\s]+)>/;

/** The address a cell holds: `Name <addr>` and `<addr>` give addr; anything else is taken as it is. */
function cellAddress(cell: string): string {
  const angle = ANGLE_ADDR.exec(cell);
  return angle ? angle[1] : csvCellValue(cell);
}

/**
 * Splits pasted or uploaded text into one entry per line, so a report can name the line: the
 * address of each line (the first cell that holds one, or else the first cell: a bare local part),
 * and "" for a blank line or for the header row at the top.
 */
export function splitRecipientText(text: string): string[] {
  let header = true;
  return text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .map((line) => {
      if (!line.trim()) return "";
      const first = header;
      header = false;
      const angle = ANGLE_ADDR.exec(line);
      // a name-addr may itself hold a separator ("Smith, John" <j@x.example>): the brackets decide
      if (angle && !line.slice(angle.index + angle[0].length).trim()) return angle[1];
      const cells = csvCells(line);
      if (first && cells.every((c) => !c.includes("@")) && cells.some((c) => HEADER_CELL.test(c))) return "";
      const withAddress = cells.find((c) => c.includes("@"));
      return cellAddress(withAddress ?? cells[0]);
    });
}
