// Ending a bounce-protection hold (bounce-protection.ts), by staff or by the domain's own customer:
// - "bounce": the recipients really do not exist. The refusals held back become what a 5yz is
//   without protection (RFC 5321 §4.2.5): bounced, with a DSN (RFC 3464) to the envelope sender
//   (none to <>), each carrying the customer's recorded reply.
// - "retry": the customer's server is fixed. The mark is cleared and the held refusals are ordinary
//   held mail again: the next session offers them and judges their replies afresh.
// Either way the domain's mark and its evidence are cleared. Deliveries a session holds right now
// (delivering) are left to that session.
import type { Actor } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { getConfig } from "../config/config.ts";
import { dbWork, getDb, Prisma, type Tx } from "../db/client.ts";
import { txQuery } from "../db/tx-query.ts";
import { getDomain } from "../domains/domains.ts";
import { buildDsn, statusFromReply } from "../dsn/build-dsn.ts";
import { initialDsnState } from "../dsn/send-dsns.ts";
import { storeDsns } from "../dsn/store-dsn.ts";
import { MailharborError } from "../errors.ts";
import { purgeUnneededBodies } from "../queue/record-delivery-results.ts";

/** Messages bounced per transaction: a weekend of held mail is done in steps, each one short. */
const BATCH_MESSAGES = 200;

export type HoldResolution = "bounce" | "retry";

export interface ResolvedHold {
  domain: string;
  action: HoldResolution;
  /** held refusals bounced (bounce) or given back to the queue (retry) */
  deliveries: number;
  dsns: number;
}

/** The held refusals of a domain: queued, refused while bounce protection held the domain. */
function heldRefusals(domainId: string): Prisma.DeliveryWhereInput {
  return { domainId, state: "queued", protectionHeld: true };
}

async function bounceStep(tx: Tx, domainId: string, now: Date): Promise<{ deliveries: number; dsns: number }> {
  const rows = await tx.delivery.findMany({
    where: heldRefusals(domainId),
    orderBy: { id: "asc" },
    take: BATCH_MESSAGES * 10,
    select: { id: true, messageId: true, recipient: true, lastError: true },
  });
  if (rows.length === 0) return { deliveries: 0, dsns: 0 };
  const messageIds = [...new Set(rows.map((r) => r.messageId))].slice(0, BATCH_MESSAGES);
  const taken = rows.filter((r) => messageIds.includes(r.messageId));
  const query = txQuery(tx);
  // purgeUnneededBodies wants the messages locked, like a session recording its results
  await query("SELECT 1 FROM message WHERE id = ANY($1::text[]) FOR NO KEY UPDATE", [messageIds]);
  const updated = await tx.delivery.updateMany({
    where: { id: { in: taken.map((r) => r.id) }, ...heldRefusals(domainId) },
    data: { state: "bounced", protectionHeld: false, lastAttemptAt: now, leaseOwner: null, leaseUntil: null },
  });
  const config = getConfig();
  const messages = await tx.message.findMany({
    where: { id: { in: messageIds } },
    select: { id: true, mailFrom: true, receivedAt: true, body: { select: { raw: true } } },
  });
  const dsns = messages
    .filter((m) => m.mailFrom)
    .map((m) => {
      // RFC 5321 §6.1: never a DSN to the null sender (filtered above)
      const raw = buildDsn({
        kind: "bounced",
        reportingMta: config.MAIL_HOSTNAME,
        now,
        original: { queueId: m.id, mailFrom: m.mailFrom, receivedAt: m.receivedAt, raw: m.body ? Buffer.from(m.body.raw) : null },
        recipients: taken
          .filter((r) => r.messageId === m.id)
          .map((r) => ({
            recipient: r.recipient,
            action: "failed" as const,
            status: statusFromReply(r.lastError ?? "550"),
            diagnostic: r.lastError,
            lastAttempt: now,
          })),
      });
      return { messageId: m.id, rcptTo: m.mailFrom, raw, reason: "bounced" as const, state: initialDsnState(config.SMARTHOST) };
    });
  await storeDsns(query, dsns);
  await purgeUnneededBodies(query, messageIds);
  return { deliveries: updated.count, dsns: dsns.length };
}

/** Ends the domain's hold by bouncing its held refusals or by retrying them; NOT_FOUND outside the actor's reach. */
export async function resolveBounceHold(actor: Actor, domainRef: string, action: HoldResolution): Promise<ResolvedHold> {
  if (action !== "bounce" && action !== "retry") throw new MailharborError("INVALID_INPUT", "action: bounce or retry");
  const domain = await getDomain(actor, domainRef);
  const now = new Date();
  const total = { deliveries: 0, dsns: 0 };
  if (action === "bounce") {
    for (;;) {
      const step = await dbWork(() => getDb().$transaction((tx) => bounceStep(tx, domain.id, now)));
      total.deliveries += step.deliveries;
      total.dsns += step.dsns;
      if (step.deliveries === 0) break;
    }
  }
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      if (action === "retry") {
        total.deliveries = (await tx.delivery.updateMany({ where: heldRefusals(domain.id), data: { protectionHeld: false } })).count;
      }
      await tx.domain.update({ where: { id: domain.id }, data: { bounceHeldAt: null, bounceHeldEvidence: Prisma.DbNull } });
      await recordAuditEvent(tx, actor, {
        action: action === "bounce" ? "domain.bounce-hold.bounce" : "domain.bounce-hold.retry",
        objectType: "domain",
        objectId: domain.id,
        customerId: domain.customerId,
        details: { name: domain.name, deliveries: total.deliveries, dsns: total.dsns },
      });
    }),
  );
  return { domain: domain.name, action, ...total };
}
