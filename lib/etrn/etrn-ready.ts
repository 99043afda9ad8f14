// Whether a domain can be released by ETRN (RFC 1985) at all: ETRN is turned on and there is a
// delivery target (host:port of the customer's own server, never empty: hostPortSchema), since an
// ETRN run connects out to it; and the customer is active, since a suspended customer's mail is
// not released. Who may ask (AUTH, etrnFrom) is decided on top of this in decide-etrn.ts. A run,
// "deliver now" in the portal and the CLI, and the MX's ETRN offer all go by this one rule.
import type { Prisma } from "../db/client.ts";

export interface EtrnSettings {
  etrnEnabled: boolean;
  etrnTarget: string | null;
}

/** ETRN is set up: on, with a target. */
export function etrnConfigured<T extends EtrnSettings>(domain: T): domain is T & { etrnTarget: string } {
  return domain.etrnEnabled && domain.etrnTarget !== null;
}

/** ETRN-ready: set up, and the customer is active. */
export function etrnReady<T extends EtrnSettings & { customer: { status: string } }>(domain: T): domain is T & { etrnTarget: string } {
  return etrnConfigured(domain) && domain.customer.status === "active";
}

/** etrnConfigured as a Prisma filter on domain. */
export const ETRN_CONFIGURED_WHERE = { etrnEnabled: true, etrnTarget: { not: null } } satisfies Prisma.DomainWhereInput;

/** etrnReady as a Prisma filter on domain. */
export const ETRN_READY_WHERE = { ...ETRN_CONFIGURED_WHERE, customer: { status: "active" } } satisfies Prisma.DomainWhereInput;
