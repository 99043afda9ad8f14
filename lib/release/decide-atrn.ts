// Whether an ATRN releases mail (RFC 2645 §4.2.3): every requested domain must be one the login
// may collect, or nothing is released (450); no argument means all of them. Among authorised
// domains, any held mail means 250, none means 453. Database failures throw DB_UNAVAILABLE,
// which the listener answers with 451.
//
// The same rule holds for as long as the session runs: recheckAtrn re-applies it to the domains
// released, so a login disabled, a customer suspended, a login restricted, a domain's ATRN turned
// off or the secret used at AUTH revoked ends the session (see mailer/odmr/odmr-connection.ts).
import { checkCollector, listCollectableDomains, type CollectableDomain } from "../logins/collectable-domains.ts";
import type { AuthenticatedLogin } from "../logins/verify-odmr-login.ts";
import { domainsWithHeldMail } from "../queue/held-domains.ts";
import { requeueExpiredLeases } from "../queue/release-leases.ts";

export type AtrnDecision =
  { kind: "release"; domains: CollectableDomain[] } | { kind: "no-mail"; domains: CollectableDomain[] } | { kind: "not-authorized"; refused: string[] };

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

/**
 * Whether a running ATRN session may go on collecting the domains it was released: null if it
 * may, otherwise why not. A session loses every domain when one is lost: it ends after the message
 * in flight, and the customer's next ATRN gets what is still collectable.
 */
export async function recheckAtrn(login: AuthenticatedLogin, domainIds: string[]): Promise<string | null> {
  const authority = await checkCollector(login);
  if (!authority.ok) return authority.reason;
  const allowed = new Set(authority.domains.map((d) => d.id));
  const lost = domainIds.filter((id) => !allowed.has(id)).length;
  return lost > 0 ? `${lost} of the released domains no longer collectable by this login` : null;
}
