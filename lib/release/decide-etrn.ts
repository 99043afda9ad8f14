// Whether an ETRN (RFC 1985) starts a queue run, and for which domains. A domain is released
// only when it has ETRN enabled with a delivery target, its customer is active, and the client
// either authenticated (AUTH on the MX) with an ODMR login that may collect it, or connects from
// one of the domain's listed networks (etrnFrom). Staff and the CLI ("deliver now") need only the
// first part. Database failures throw DB_UNAVAILABLE, which the MX answers with 458.
import { dbWork, getDb } from "../db/client.ts";
import { queueQuery } from "../db/pg-pool.ts";
import { ETRN_READY_WHERE, etrnConfigured, etrnReady } from "../etrn/etrn-ready.ts";
import { listCollectableDomains } from "../logins/collectable-domains.ts";
import type { AuthenticatedLogin } from "../logins/verify-odmr-login.ts";
import { heldSql } from "../queue/delivery-state.ts";
import { requeueExpiredLeases } from "../queue/release-leases.ts";
import { addressInNetworks } from "../validation/cidr.ts";

export interface EtrnRequester {
  /** the client's IP address, as the socket reports it */
  address: string;
  /** the ODMR login the client authenticated as on the MX, if it did */
  login: AuthenticatedLogin | null;
}

/** The node of `ETRN [@]<domain>`: RFC 1985 §5.1 "@" asks for the domain and every domain below it. */
export interface EtrnNode {
  domain: string;
  subdomains: boolean;
}

export interface EtrnDomain {
  id: string;
  name: string;
  customerId: string;
}

export type EtrnDecision =
  /** `pending`: held messages, or null when there are more than are worth counting */
  | { kind: "start"; domains: EtrnDomain[]; pending: number | null }
  | { kind: "no-mail"; domains: EtrnDomain[] }
  /** `reason` is for the logs and the session list; the client is told only "not allowed" */
  | { kind: "not-allowed"; reason: string };

/** Counting stops here: the reply then says "pending messages" without a number (RFC 1985: 252). */
const COUNT_CAP = 10_000;

/** Domains an "@" request may cover at most. */
const MAX_DOMAINS = 100;

export async function decideEtrn(requester: EtrnRequester, node: EtrnNode): Promise<EtrnDecision> {
  const candidates = await dbWork(() =>
    getDb().domain.findMany({
      where: {
        ...ETRN_READY_WHERE,
        OR: node.subdomains ? [{ name: node.domain }, { name: { endsWith: `.${node.domain}` } }] : [{ name: node.domain }],
      },
      select: { id: true, name: true, customerId: true, etrnFrom: true },
      orderBy: { name: "asc" },
      take: MAX_DOMAINS,
    }),
  );
  if (candidates.length === 0) return { kind: "not-allowed", reason: "not hosted here, or ETRN is not enabled for it" };
  const byAddress = candidates.filter((d) => addressInNetworks(requester.address, d.etrnFrom));
  let byLogin = new Set<string>();
  if (requester.login && byAddress.length < candidates.length) {
    byLogin = new Set((await listCollectableDomains(requester.login, "etrn")).map((d) => d.id));
  }
  const allowed = candidates.filter((d) => byLogin.has(d.id) || byAddress.includes(d)).map(({ id, name, customerId }) => ({ id, name, customerId }));
  if (allowed.length === 0) {
    return {
      kind: "not-allowed",
      reason: requester.login ? `login ${requester.login.login} may not release it` : "not allowed from this address without AUTH",
    };
  }
  return withPending(allowed);
}

/** "Deliver now" by staff or the CLI: only the domain's own settings count. */
export async function decideEtrnRelease(domainId: string): Promise<EtrnDecision> {
  const domain = await dbWork(() =>
    getDb().domain.findUnique({
      where: { id: domainId },
      select: { id: true, name: true, customerId: true, etrnEnabled: true, etrnTarget: true, customer: { select: { status: true } } },
    }),
  );
  if (!domain) return { kind: "not-allowed", reason: "the domain no longer exists" };
  if (!etrnReady(domain)) {
    return { kind: "not-allowed", reason: etrnConfigured(domain) ? "the customer is suspended" : "ETRN is not enabled for the domain" };
  }
  return withPending([{ id: domain.id, name: domain.name, customerId: domain.customerId }]);
}

async function withPending(domains: EtrnDomain[]): Promise<EtrnDecision> {
  const ids = domains.map((d) => d.id);
  // claims a dead mailer left behind count as held mail again at once, as for ATRN
  await requeueExpiredLeases(ids);
  const [row] = await queueQuery<{ deliveries: number; messages: number }>(
    `
    SELECT count(*)::int AS deliveries, count(DISTINCT message_id)::int AS messages FROM (
      SELECT message_id FROM delivery WHERE domain_id = ANY($1::uuid[]) AND ${heldSql()} LIMIT $2
    ) held`,
    [ids, COUNT_CAP + 1],
  );
  if (row.deliveries === 0) return { kind: "no-mail", domains };
  return { kind: "start", domains, pending: row.deliveries > COUNT_CAP ? null : row.messages };
}
