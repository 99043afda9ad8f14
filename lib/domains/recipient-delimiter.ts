// The recipient-delimiter rule, in one place for the MX's RCPT check and the portal's display.
// A domain with a delimiter (e.g. "+", or "+-" for either) takes joe+news@ for a listed joe@: the
// extension starts at the first delimiter character of the local part. The address itself is never
// rewritten (the customer's server does its own extension handling); only the list lookup uses the
// base. Postfix's recipient_delimiter does the same, but for the whole server, not per domain.
import { RECIPIENT_DELIMITER_CHARACTERS } from "../validation/schemas.ts";

/**
 * The address without its extension (`joe+news@d` → `joe@d`, `joe+@d` → `joe@d`), or null when the
 * local part has no delimiter character, starts with one (nothing would remain), or is quoted
 * (RFC 5321 §4.1.2: a quoted local part is taken as a whole). Works on any case; the caller
 * lower-cases for list lookups.
 */
export function recipientBase(address: string, delimiter: string): string | null {
  if (!delimiter) return null;
  const at = address.lastIndexOf("@");
  if (at <= 0 || address.startsWith('"')) return null;
  let cut = -1;
  for (let i = 0; i < at; i++) {
    if (delimiter.includes(address[i])) {
      cut = i;
      break;
    }
  }
  return cut > 0 ? address.slice(0, cut) + address.slice(at) : null;
}

/**
 * The list keys one lookup asks for when the domain's delimiter is not yet known: the key itself
 * and its base under each possible delimiter character. The domain's own base is always among
 * them, so one indexed query (`address = ANY(...)`) answers for any setting.
 */
export function lookupCandidates(key: string): string[] {
  const candidates = new Set([key]);
  for (const c of RECIPIENT_DELIMITER_CHARACTERS) {
    const base = recipientBase(key, c);
    if (base) candidates.add(base);
  }
  return [...candidates];
}

/**
 * Which list entry a recipient key matches: itself when listed (a listed `a+b@` matches as listed),
 * else its base under the domain's delimiter when that is listed, else null.
 */
export function matchListEntry(key: string, delimiter: string, listed: ReadonlySet<string>): string | null {
  if (listed.has(key)) return key;
  const base = recipientBase(key, delimiter);
  return base !== null && listed.has(base) ? base : null;
}
