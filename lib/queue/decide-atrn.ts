// Whether an ATRN releases mail (RFC 2645 §4.2.3): every requested domain must be one the login
// may collect, or nothing is released (450); no argument means all of them. Among authorised
// domains, any held mail means 250, none means 453. Database failures throw DB_UNAVAILABLE,
// which the listener answers with 451.
import { listCollectableDomains, type CollectableDomain } from "../logins/collectable-domains.ts";
import type { AuthenticatedLogin } from "../logins/verify-odmr-login.ts";
import { domainsWithHeldMail } from "./held-domains.ts";
import { requeueExpiredLeases } from "./release-leases.ts";

export type AtrnDecision =
  | { kind: "release"; domains: CollectableDomain[] }
  | { kind: "no-mail"; domains: CollectableDomain[] }
  | { kind: "not-authorized"; refused: string[] };

/** `requested`: normalised domain names, or null for "every domain of the login". */
export async function decideAtrn(login: AuthenticatedLogin, requested: string[] | null): Promise<AtrnDecision> {
  const collectable = await listCollectableDomains(login);
  let domains: CollectableDomain[];
  if (requested === null) {
    domains = collectable;
  } else {
    const byName = new Map(collectable.map((d) => [d.name, d]));
    const refused = requested.filter((name) => !byName.has(name));
    if (refused.length > 0) return { kind: "not-authorized", refused };
    domains = requested.map((name) => byName.get(name)!);
  }
  if (domains.length === 0) return { kind: "no-mail", domains };
  const ids = domains.map((d) => d.id);
  // claims a dead mailer left behind count as held mail again right away, not only at the next housekeeping run
  await requeueExpiredLeases(ids);
  const held = await domainsWithHeldMail(ids);
  return held.size > 0 ? { kind: "release", domains } : { kind: "no-mail", domains };
}
