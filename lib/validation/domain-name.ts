// Domain names as RFC 5321 §4.1.2 and RFC 1035 §2.3.1 allow them: LDH labels of 1-63
// octets, no leading or trailing hyphen, 255 octets at most. Internationalised names are
// stored in their ASCII (A-label) form.
import { domainToASCII, domainToUnicode } from "node:url";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export interface DomainNameOptions {
  /** Host names such as a machine's own name may be a single label; hosted domains may not. */
  allowSingleLabel?: boolean;
}

/** Lower-cased ASCII form of a domain name, or null when it is not a valid name. */
export function normalizeDomainName(input: string, options: DomainNameOptions = {}): string | null {
  if (typeof input !== "string") return null;
  let name = input.trim().toLowerCase();
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (!name || name.length > 255) return null;

  if (/[^\x00-\x7f]/.test(name)) {
    name = domainToASCII(name);
    if (!name) return null;
  }
  if (name.length > 253) return null;
  const labels = name.split(".");
  if (!options.allowSingleLabel && labels.length < 2) return null;
  if (!labels.every((label) => LABEL.test(label))) return null;
  // A top-level label of digits only would be an address literal, not a name.
  if (labels.length > 1 && /^\d+$/.test(labels[labels.length - 1])) return null;
  return name;
}

export function isDomainName(input: string, options: DomainNameOptions = {}): boolean {
  return normalizeDomainName(input, options) !== null;
}

/**
 * How people read a stored (ASCII) name: its U-labels (RFC 5890 §2.3.2.1), e.g. "bücher.example" for
 * "xn--bcher-kva.example"; the name itself when it has no A-label or does not decode.
 */
export function unicodeDomainName(ascii: string): string {
  if (!/(^|\.)xn--/i.test(ascii)) return ascii;
  return domainToUnicode(ascii) || ascii;
}
