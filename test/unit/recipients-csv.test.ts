// The recipient CSV export: cells a spreadsheet would run as a formula (CSV injection) start with
// a single quote (OWASP), quoting per RFC 4180, and the import reads an export back unchanged.
import { describe, expect, it } from "vitest";
import { csvCell, recipientsCsv, splitRecipientText } from "../../lib/recipients/recipients-csv.ts";

describe("recipient CSV", () => {
  it("neutralises a leading =, +, -, @, tab or CR with a single quote", () => {
    expect(csvCell('=HYPERLINK("http://evil.example")@d.example')).toBe('"\'=HYPERLINK(""http://evil.example"")@d.example"');
    expect(csvCell("+1@d.example")).toBe("'+1@d.example");
    expect(csvCell("-2+3@d.example")).toBe("'-2+3@d.example");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("\tx@d.example")).toBe("'\tx@d.example");
    // an ordinary address, and one with a sign further in, stay as they are
    expect(csvCell("alice@d.example")).toBe("alice@d.example");
    expect(csvCell("a-b+c=d@d.example")).toBe("a-b+c=d@d.example");
  });

  it("exports a header and one line per address, and imports the export as the same list", () => {
    const addresses = ["=cmd@d.example", "+x@d.example", "-y@d.example", "plain@d.example", '"a,b"@d.example'];
    const csv = recipientsCsv(addresses);
    expect(csv.split("\r\n")).toEqual(["address", "'=cmd@d.example", "'+x@d.example", "'-y@d.example", "plain@d.example", '"""a,b""@d.example"', ""]);
    expect(
      csv
        .split("\r\n")
        .slice(1)
        .every((line) => !/^[=+\-@]/.test(line)),
    ).toBe(true);
    expect(splitRecipientText(csv)).toEqual(["", ...addresses, ""]);
  });

  it("skips a header row at the top and finds the address in any cell", () => {
    expect(splitRecipientText("address,name,notes\r\nalice@d.example,Alice,first\r\nbob,Bob,\r\n")).toEqual(["", "alice@d.example", "bob", ""]);
    expect(splitRecipientText("\uFEFFName;Email Address\nAlice;alice@d.example")).toEqual(["", "alice@d.example"]);
    expect(splitRecipientText("\n\nE-mail\ncarol@d.example")).toEqual(["", "", "", "carol@d.example"]);
    // only the first line can be a header
    expect(splitRecipientText("dave@d.example\naddress")).toEqual(["dave@d.example", "address"]);
  });

  it("reads name-addr lines: Name <addr> and <addr>", () => {
    expect(splitRecipientText('Alice Example <alice@d.example>\n<bob@d.example>\n"Smith, John" <john@d.example>\n"Eve","Eve <eve@d.example>"')).toEqual([
      "alice@d.example",
      "bob@d.example",
      "john@d.example",
      "eve@d.example",
    ]);
  });
});
