// The header summary shown in the portal's queue views: From, Subject, Message-ID and Date of a
// message, as text a person can read (encoded words decoded). The values are untrusted input:
// the portal escapes them; here they only lose control characters (PostgreSQL text cannot hold NUL).
import { decodeEncodedWords } from "./decode-encoded-words.ts";
import { readHeaderFields } from "./header-fields.ts";

export interface HeaderSummary {
  from: string | null;
  subject: string | null;
  messageId: string | null;
  date: string | null;
}

const MAX_LENGTH = 998; // RFC 5322 §2.1.1 line limit: plenty for a summary

const CONTROL = /[\x00-\x1f\x7f]+/g;

function clean(value: string | undefined, decode: boolean): string | null {
  if (value === undefined) return null;
  const text = (decode ? decodeEncodedWords(value) : value).replace(CONTROL, " ").replace(/\s+/g, " ").trim();
  return text ? text.slice(0, MAX_LENGTH) : null;
}

/** Summarizes a header section (see headerSection); the first of each field counts. */
export function summarizeHeaders(head: Buffer): HeaderSummary {
  const first = new Map<string, string>();
  for (const field of readHeaderFields(head)) {
    const name = field.name.toLowerCase();
    if (!first.has(name)) first.set(name, field.value);
  }
  return {
    from: clean(first.get("from"), true),
    subject: clean(first.get("subject"), true),
    messageId: clean(first.get("message-id"), false),
    date: clean(first.get("date"), false),
  };
}
