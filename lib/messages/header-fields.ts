// The header section of a message (RFC 5322 §2.1: header fields, an empty line, the body) and its
// fields, unfolded (§2.2.3). Header text is UTF-8 where it is valid (RFC 6532), else Latin-1, so
// that no byte is lost or refused.
// Lines end with CRLF only (RFC 5322 §2.1, §2.3: CR and LF occur only together): the MX refuses a
// message with a bare CR or LF (mailer/mx/inspect-message.ts, RFC 5321 §2.3.8), so what is stored
// has no other line end, and a bare LF here is a byte within a line, never the empty line that
// ends the header section. Every reader of a header section (intake, the portal, DSNs) uses this one.

const CRLF_CRLF = Buffer.from("\r\n\r\n");

/** The header section: everything up to and including the CRLF before the empty line. */
export function headerSection(raw: Buffer): Buffer {
  if (raw.length >= 2 && raw[0] === 0x0d && raw[1] === 0x0a) return raw.subarray(0, 0); // no header fields
  const end = raw.indexOf(CRLF_CRLF);
  return end < 0 ? raw : raw.subarray(0, end + 2);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeHeaderText(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

export interface HeaderField {
  /** as written, trimmed */
  name: string;
  /** unfolded: each CRLF that precedes white space is removed */
  value: string;
}

export function readHeaderFields(head: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  let current: HeaderField | null = null;
  for (const line of decodeHeaderText(head).split("\r\n")) {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (current) current.value += line;
      continue;
    }
    const colon = line.indexOf(":");
    // a line without a colon is not a field (RFC 5322 §3.6.8); it is skipped, not guessed at
    current = colon > 0 ? { name: line.slice(0, colon).trim(), value: line.slice(colon + 1) } : null;
    if (current) fields.push(current);
  }
  return fields;
}
