// Mailbox addresses (RFC 5321 §4.1.2, §4.5.3.1; RFC 6531 for SMTPUTF8 local parts).
import { normalizeDomainName } from "./domain-name.ts";

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-";
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(\\.[${ATEXT}]+)*$`);
const DOT_ATOM_UTF8 = new RegExp(`^[${ATEXT}\\u0080-\\u{10FFFF}]+(\\.[${ATEXT}\\u0080-\\u{10FFFF}]+)*$`, "u");
// qtext and quoted-pair, printable ASCII only
const QUOTED = /^"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;

export interface ParsedAddress {
  localPart: string;
  /** ASCII, lower-case */
  domain: string;
  /** localPart@domain, with the local part as given (RFC 5321 §2.4: it may be case-sensitive) */
  address: string;
}

export interface AddressOptions {
  /** allow UTF-8 in the local part (the client asked for SMTPUTF8) */
  utf8?: boolean;
}

export function parseAddress(input: string, options: AddressOptions = {}): ParsedAddress | null {
  if (typeof input !== "string") return null;
  const value = input.trim();
  const at = value.lastIndexOf("@");
  if (at <= 0 || at === value.length - 1) return null;
  const localPart = value.slice(0, at);
  if (Buffer.byteLength(localPart) > 64) return null;
  const validLocal = localPart.startsWith('"') ? QUOTED.test(localPart) : (options.utf8 ? DOT_ATOM_UTF8 : DOT_ATOM).test(localPart);
  if (!validLocal) return null;
  const domain = normalizeDomainName(value.slice(at + 1));
  if (!domain) return null;
  const address = `${localPart}@${domain}`;
  if (Buffer.byteLength(address) > 254) return null;
  return { localPart, domain, address };
}

/** The key under which a recipient is listed and looked up: the whole address, lower-cased. */
export function recipientKey(address: string): string {
  return address.toLowerCase();
}
