// The one reader of SMTP replies for the test clients (SmtpDialog on the MX, OdmrCustomer on the
// ODMR port): RFC 5321 §4.2.1, a reply is one or more lines ending in CRLF (§2.3.8), "NNN-text" on
// every line but the last, "NNN text" (or a bare "NNN") on the last.

export interface SmtpReply {
  code: number;
  /** the reply's lines without the code and separator */
  lines: string[];
  /** the lines joined with "\n" */
  text: string;
  /** the last line as sent, e.g. "250 2.0.0 Ok: queued as 0H2N4V6X8Z1B3D5F" */
  last: string;
}

/** The complete reply at the start of `buffer` and the bytes after it, or null while its last line has not come yet. */
export function takeReply(buffer: Buffer, encoding: BufferEncoding = "latin1"): { reply: SmtpReply; rest: Buffer } | null {
  const lines: string[] = [];
  for (let start = 0; ;) {
    const end = buffer.indexOf("\r\n", start);
    if (end < 0) return null;
    const line = buffer.subarray(start, end).toString(encoding);
    start = end + 2;
    lines.push(line.slice(4));
    if (/^\d{3}(?: |$)/.test(line)) {
      return { reply: { code: Number(line.slice(0, 3)), lines, text: lines.join("\n"), last: line }, rest: buffer.subarray(start) };
    }
  }
}
