// "Deliver now": staff (portal) or the CLI ask for a domain's held mail to go to its ETRN target
// at once. The portal and the CLI are other processes than the mailer, so the request is a mark
// on the domain row; a mailer takes marks within seconds (ETRN_REQUEST_POLL_SECONDS) and runs
// them. Taking clears the mark in the same statement, so with several mailers one runs it.
import type { Actor } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { dbWork, getDb } from "../db/client.ts";
import { getDomain } from "../domains/domains.ts";
import { MailharborError } from "../errors.ts";
import { etrnConfigured, etrnReady } from "./etrn-ready.ts";

export interface ReleaseRequest {
  domainId: string;
  domain: string;
  requestedAt: Date;
}

/** How a request's origin appears in the session list. */
function requesterLabel(actor: Actor): string {
  return actor.type === "cli" ? "cli" : `${actor.type}: ${actor.label}`;
}

/** Staff and the CLI for any domain; a customer for its own (getDomain scopes it: NOT_FOUND otherwise). */
export async function requestEtrnRelease(actor: Actor, ref: string): Promise<ReleaseRequest> {
  const domain = await getDomain(actor, ref);
  if (!etrnReady(domain)) {
    if (!etrnConfigured(domain)) {
      throw new MailharborError("INVALID_INPUT", `ETRN is not enabled for ${domain.name}: give it a target and turn ETRN on first`, { field: "etrn" });
    }
    throw new MailharborError("INVALID_INPUT", `the customer of ${domain.name} is suspended`);
  }
  const requestedAt = new Date();
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      // not through update(): the request is no change of the domain's settings (updatedAt stays)
      await tx.$executeRaw`UPDATE domain SET etrn_requested_at = ${requestedAt}, etrn_requested_by = ${requesterLabel(actor)} WHERE id = ${domain.id}::uuid`;
      await recordAuditEvent(tx, actor, {
        action: "domain.etrn_release",
        objectType: "domain",
        objectId: domain.id,
        customerId: domain.customerId,
        details: { name: domain.name, target: domain.etrnTarget },
      });
    }),
  );
  return { domainId: domain.id, domain: domain.name, requestedAt };
}

export interface TakenRequest {
  domainId: string;
  domain: string;
  customerId: string;
  requestedBy: string;
}

/** For the mailer: takes (and clears) the waiting requests, oldest first. */
export async function takeEtrnReleaseRequests(limit = 50): Promise<TakenRequest[]> {
  const rows = await dbWork(
    () => getDb().$queryRaw<{ id: string; name: string; customer_id: string; requested_by: string | null }[]>`
    WITH taken AS (
      SELECT id, etrn_requested_by FROM domain WHERE etrn_requested_at IS NOT NULL
      ORDER BY etrn_requested_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
    )
    UPDATE domain d SET etrn_requested_at = NULL, etrn_requested_by = NULL FROM taken WHERE d.id = taken.id
    RETURNING d.id::text AS id, d.name, d.customer_id::text AS customer_id, taken.etrn_requested_by AS requested_by`,
  );
  return rows.map((r) => ({ domainId: r.id, domain: r.name, customerId: r.customer_id, requestedBy: r.requested_by ?? "portal" }));
}
