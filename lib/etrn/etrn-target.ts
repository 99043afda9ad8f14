// Where an ETRN run delivers: the domain's target (host:port of the customer's own server) and
// TLS policy, read when the run starts, so a target changed while mail is held applies to the
// next run and no mail is stranded at the old one. A run that cannot reach its target leaves the
// mail held and puts the reason on each held delivery, where staff and the customer see it.
import { dbWork, getDb } from "../db/client.ts";

export type EtrnTlsPolicy = "opportunistic" | "required" | "none";

export interface EtrnTarget {
  domainId: string;
  domain: string;
  customerId: string;
  host: string;
  port: number;
  tls: EtrnTlsPolicy;
}

/** The domain's target now, or null when the domain no longer has ETRN (disabled, no target, customer suspended). */
export async function loadEtrnTarget(domainId: string): Promise<EtrnTarget | null> {
  const domain = await dbWork(() => getDb().domain.findUnique({
    where: { id: domainId },
    select: { id: true, name: true, customerId: true, etrnEnabled: true, etrnTarget: true, etrnTls: true, customer: { select: { status: true } } },
  }));
  if (!domain?.etrnEnabled || !domain.etrnTarget || domain.customer.status !== "active") return null;
  const colon = domain.etrnTarget.lastIndexOf(":");
  return {
    domainId: domain.id, domain: domain.name, customerId: domain.customerId,
    host: domain.etrnTarget.slice(0, colon), port: Number(domain.etrnTarget.slice(colon + 1)), tls: domain.etrnTls,
  };
}

/** The target could not take mail (refused, unreachable, no TLS where required): say so on every held delivery of the domain. */
export async function recordEtrnTargetFailure(domainId: string, error: string): Promise<number> {
  const { count } = await dbWork(() => getDb().delivery.updateMany({
    where: { domainId, state: "queued" },
    data: { lastError: error.slice(0, 500) },
  }));
  return count;
}

/** Whether any domain has ETRN enabled: the MX advertises ETRN (and AUTH, which exists for it) only then. */
export async function etrnInUse(): Promise<boolean> {
  const domain = await dbWork(() => getDb().domain.findFirst({ where: { etrnEnabled: true, etrnTarget: { not: null } }, select: { id: true } }));
  return domain !== null;
}
