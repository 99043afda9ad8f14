// Staff actions on one queued message (delete, bounce now, release a stuck lease) and the raw
// message for download. Each acts only on deliveries within the actor's reach; a message with none
// is NOT_FOUND.
import type { Actor } from "../actor.ts";
import { customerScope, requireOperator } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { getConfig } from "../config/config.ts";
import { dbWork, getDb, type Tx } from "../db/client.ts";
import { buildDsn } from "../dsn/build-dsn.ts";
import { initialDsnState } from "../dsn/send-dsns.ts";
import { MailharborError } from "../errors.ts";
import { HELD_STATES } from "./search-queue.ts";

async function heldDeliveries(tx: Tx, actor: Actor, messageId: string) {
  const deliveries = await tx.delivery.findMany({
    where: { messageId: String(messageId), ...customerScope(actor) },
    select: { id: true, recipient: true, state: true, customerId: true, leaseOwner: true, leaseUntil: true },
  });
  if (!deliveries.length) throw new MailharborError("NOT_FOUND", `no message ${messageId}`);
  return deliveries;
}

/** Customers the deliveries belong to, so each customer's audit trail shows the change. */
function byCustomer<T extends { customerId: string; recipient: string }>(deliveries: T[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const d of deliveries) map.set(d.customerId, [...(map.get(d.customerId) ?? []), d.recipient]);
  return map;
}

function beingDelivered(deliveries: { state: string; leaseUntil: Date | null }[], now: Date) {
  return deliveries.some((d) => d.state === "delivering" && d.leaseUntil !== null && d.leaseUntil > now);
}

/** Deletes the message with all its deliveries; refused while a session is delivering it. */
export async function deleteQueuedMessage(actor: Actor, messageId: string) {
  requireOperator(actor);
  return dbWork(() => getDb().$transaction(async (tx) => {
    const deliveries = await heldDeliveries(tx, actor, messageId);
    if (beingDelivered(deliveries, new Date())) {
      throw new MailharborError("CONFLICT", "a session is delivering this message now; wait for it, or release its lease first");
    }
    await tx.message.delete({ where: { id: messageId } });
    for (const [customerId, recipients] of byCustomer(deliveries)) {
      await recordAuditEvent(tx, actor, { action: "queue.delete", objectType: "message", objectId: messageId, customerId, details: { recipients } });
    }
  }));
}

/**
 * Gives up on the held deliveries now: they become bounced, so no ATRN releases them, and the
 * sender is owed a DSN (RFC 3464), stored in the same transaction for the mailer to send.
 */
export async function bounceQueuedMessage(actor: Actor, messageId: string) {
  requireOperator(actor);
  return dbWork(() => getDb().$transaction(async (tx) => {
    const deliveries = await heldDeliveries(tx, actor, messageId);
    const now = new Date();
    if (beingDelivered(deliveries, now)) {
      throw new MailharborError("CONFLICT", "a session is delivering this message now; wait for it, or release its lease first");
    }
    const held = deliveries.filter((d) => (HELD_STATES as string[]).includes(d.state));
    if (!held.length) throw new MailharborError("CONFLICT", "nothing of this message is held any more");
    await tx.delivery.updateMany({
      where: { id: { in: held.map((d) => d.id) }, state: { in: HELD_STATES } },
      data: { state: "bounced", lastError: `bounced by ${actor.label}`, lastAttemptAt: now, leaseOwner: null, leaseUntil: null },
    });
    const message = await tx.message.findUniqueOrThrow({ where: { id: messageId }, select: { id: true, mailFrom: true, receivedAt: true, body: { select: { raw: true } } } });
    // RFC 5321 §6.1: never a DSN to the null sender
    if (message.mailFrom) {
      const config = getConfig();
      const raw = buildDsn({
        kind: "returned",
        reportingMta: config.MAIL_HOSTNAME,
        original: { queueId: message.id, mailFrom: message.mailFrom, receivedAt: message.receivedAt, raw: message.body ? Buffer.from(message.body.raw) : null },
        // RFC 3463 5.0.0: a permanent failure with no more specific code (returned by the provider's staff)
        recipients: held.map((d) => ({ recipient: d.recipient, action: "failed" as const, status: "5.0.0", lastAttempt: now })),
        now,
      });
      await tx.dsn.create({ data: { messageId: message.id, rcptTo: message.mailFrom, raw: new Uint8Array(raw), reason: "returned", state: initialDsnState(config.SMARTHOST) } });
    }
    for (const [customerId, recipients] of byCustomer(held)) {
      await recordAuditEvent(tx, actor, { action: "queue.bounce", objectType: "message", objectId: messageId, customerId, details: { recipients } });
    }
    return held.length;
  }));
}

/** Puts deliveries claimed by a crashed or stuck session back in the queue at once. */
export async function releaseMessageLease(actor: Actor, messageId: string) {
  requireOperator(actor);
  return dbWork(() => getDb().$transaction(async (tx) => {
    const deliveries = await heldDeliveries(tx, actor, messageId);
    const leased = deliveries.filter((d) => (HELD_STATES as string[]).includes(d.state) && (d.leaseOwner !== null || d.leaseUntil !== null));
    if (!leased.length) throw new MailharborError("CONFLICT", "no delivery of this message holds a lease");
    await tx.delivery.updateMany({
      where: { id: { in: leased.map((d) => d.id) }, state: { in: HELD_STATES } },
      data: { state: "queued", leaseOwner: null, leaseUntil: null },
    });
    for (const [customerId, recipients] of byCustomer(leased)) {
      await recordAuditEvent(tx, actor, { action: "queue.release", objectType: "message", objectId: messageId, customerId, details: { recipients, owners: [...new Set(leased.map((d) => d.leaseOwner))] } });
    }
    return leased.length;
  }));
}

/** The message as received (RFC 5322 bytes), for download as .eml; NOT_FOUND once purged. */
export async function getMessageRaw(actor: Actor, messageId: string): Promise<Buffer> {
  const scope = customerScope(actor);
  const body = await dbWork(() => getDb().messageBody.findFirst({
    where: { messageId: String(messageId), message: { deliveries: { some: scope } } },
    select: { raw: true },
  }));
  if (!body) throw new MailharborError("NOT_FOUND", `no message ${messageId}`);
  return Buffer.from(body.raw);
}
