// The argument of ATRN (RFC 2645 §4.2.2): `ATRN [domain *("," domain)]`, commas without spaces.
// Each domain needs at least two labels (a bare host name such as fetchmail's default "vm" is
// a syntax error, answered 501). No argument means every domain the login may collect.
import { normalizeDomainName } from "../../lib/validation/domain-name.ts";

/** More names than this in one ATRN is not a customer's request. */
const MAX_DOMAINS = 100;

export type AtrnArgument = { ok: true; domains: string[] | null } | { ok: false };

export function parseAtrnArgument(argument: string): AtrnArgument {
  const value = argument.trim();
  if (value === "") return { ok: true, domains: null };
  if (/\s/.test(value)) return { ok: false };
  const names = value.split(",");
  if (names.length > MAX_DOMAINS) return { ok: false };
  const domains: string[] = [];
  for (const name of names) {
    const normalized = normalizeDomainName(name);
    if (!normalized) return { ok: false };
    if (!domains.includes(normalized)) domains.push(normalized);
  }
  return { ok: true, domains };
}
