// Actions on queued mail: staff actions on one message (delete, bounce now, release a stuck lease),
// the same three in bulk on a selection or on everything matching a queue filter (staff, and
// customers on their own held mail), and the raw message for download. Each acts only on
// deliveries within the actor's reach; a message with none is NOT_FOUND.
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { customerScope, requireOperator } from "../actor.ts";
import { HELD_WHERE, heldPrismaSql, isHeld } from "./delivery-state.ts";
import { queueIdSchema } from "./queue-id.ts";
import { REQUEUE_DATA, REQUEUE_SET } from "./requeue-deliveries.ts";
import { compileQueueFilter, matchingMessagesWhere, queueFilterSchema, type CompiledQueueFilter, type QueueFilter } from "./search-queue.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { getConfig } from "../config/config.ts";
import { dbWork, getDb, Prisma, type Tx } from "../db/client.ts";
import { txQuery } from "../db/tx-query.ts";
import { buildDsn } from "../dsn/build-dsn.ts";
import { initialDsnState } from "../dsn/send-dsns.ts";
import { storeDsns } from "../dsn/store-dsn.ts";
import { MailharborError } from "../errors.ts";
import { parseInput } from "../validation/parse-input.ts";

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

/**
 * The DSNs owed for deliveries the provider's staff (or the customer) gave up on (RFC 3464), stored
 * in the caller's transaction for the mailer to send; one per message, listing its recipients.
 */
async function storeReturnedDsns(tx: Tx, bounced: { messageId: string; recipients: string[] }[], now: Date) {
  const messages = await tx.message.findMany({
    where: { id: { in: bounced.map((b) => b.messageId) } },
    select: { id: true, mailFrom: true, receivedAt: true, body: { select: { raw: true } } },
  });
  const config = getConfig();
  const recipientsOf = new Map(bounced.map((b) => [b.messageId, b.recipients]));
  const rows = messages
    // RFC 5321 §6.1: never a DSN to the null sender
    .filter((message) => message.mailFrom)
    .map((message) => ({
      messageId: message.id,
      rcptTo: message.mailFrom,
      reason: "returned" as const,
      state: initialDsnState(config.SMARTHOST),
      raw: buildDsn({
        kind: "returned",
        reportingMta: config.MAIL_HOSTNAME,
        original: { queueId: message.id, mailFrom: message.mailFrom, receivedAt: message.receivedAt, raw: message.body ? Buffer.from(message.body.raw) : null },
        // RFC 3463 5.0.0: a permanent failure with no more specific code (returned by the provider's staff)
        recipients: (recipientsOf.get(message.id) ?? []).map((recipient) => ({ recipient, action: "failed" as const, status: "5.0.0", lastAttempt: now })),
        now,
      }),
    }));
  await storeDsns(txQuery(tx), rows);
}

/** Deletes the message with all its deliveries; refused while a session is delivering it. */
export async function deleteQueuedMessage(actor: Actor, messageId: string) {
  requireOperator(actor);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const deliveries = await heldDeliveries(tx, actor, messageId);
      if (beingDelivered(deliveries, new Date())) {
        throw new MailharborError("CONFLICT", "a session is delivering this message now; wait for it, or release its lease first");
      }
      await tx.message.delete({ where: { id: messageId } });
      for (const [customerId, recipients] of byCustomer(deliveries)) {
        await recordAuditEvent(tx, actor, { action: "queue.delete", objectType: "message", objectId: messageId, customerId, details: { recipients } });
      }
    }),
  );
}

/**
 * Gives up on the held deliveries now: they become bounced, so no ATRN releases them, and the
 * sender is owed a DSN (RFC 3464), stored in the same transaction for the mailer to send.
 */
export async function bounceQueuedMessage(actor: Actor, messageId: string) {
  requireOperator(actor);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const deliveries = await heldDeliveries(tx, actor, messageId);
      const now = new Date();
      if (beingDelivered(deliveries, now)) {
        throw new MailharborError("CONFLICT", "a session is delivering this message now; wait for it, or release its lease first");
      }
      const held = deliveries.filter((d) => isHeld(d.state));
      if (!held.length) throw new MailharborError("CONFLICT", "nothing of this message is held any more");
      await tx.delivery.updateMany({
        where: { id: { in: held.map((d) => d.id) }, ...HELD_WHERE },
        data: { state: "bounced", lastError: `bounced by ${actor.label}`, lastAttemptAt: now, leaseOwner: null, leaseUntil: null },
      });
      await storeReturnedDsns(tx, [{ messageId, recipients: held.map((d) => d.recipient) }], now);
      for (const [customerId, recipients] of byCustomer(held)) {
        await recordAuditEvent(tx, actor, { action: "queue.bounce", objectType: "message", objectId: messageId, customerId, details: { recipients } });
      }
      return held.length;
    }),
  );
}

/** Puts deliveries claimed by a crashed or stuck session back in the queue at once. */
export async function releaseMessageLease(actor: Actor, messageId: string) {
  requireOperator(actor);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const deliveries = await heldDeliveries(tx, actor, messageId);
      const leased = deliveries.filter((d) => isHeld(d.state) && (d.leaseOwner !== null || d.leaseUntil !== null));
      if (!leased.length) throw new MailharborError("CONFLICT", "no delivery of this message holds a lease");
      await tx.delivery.updateMany({
        where: { id: { in: leased.map((d) => d.id) }, ...HELD_WHERE },
        data: REQUEUE_DATA,
      });
      for (const [customerId, recipients] of byCustomer(leased)) {
        await recordAuditEvent(tx, actor, {
          action: "queue.release",
          objectType: "message",
          objectId: messageId,
          customerId,
          details: { recipients, owners: [...new Set(leased.map((d) => d.leaseOwner))] },
        });
      }
      return leased.length;
    }),
  );
}

export const BULK_QUEUE_ACTIONS = ["delete", "bounce", "release"] as const;
export type BulkQueueAction = (typeof BULK_QUEUE_ACTIONS)[number];

/**
 * Messages one bulk transaction takes: "all matching" over a million held deliveries becomes many
 * short transactions (each with its DSNs), not one that holds row locks for minutes.
 */
export const BULK_BATCH = 200;
const MAX_SELECTED = 1000;

const bulkSchema = z.object({
  action: z.enum(BULK_QUEUE_ACTIONS, { message: `action must be one of ${BULK_QUEUE_ACTIONS.join(", ")}` }),
  filter: queueFilterSchema,
  /** only these messages (rows picked on a page), still within the filter */
  ids: z.array(queueIdSchema).min(1, "select at least one message").max(MAX_SELECTED, `at most ${MAX_SELECTED} messages at once`).optional(),
  /** the newest message the count saw: mail that arrives after the confirmation is never touched */
  upTo: queueIdSchema.optional(),
  batchSize: z.number().int().min(1).max(5000).default(BULK_BATCH),
});

export interface BulkQueueInput {
  action: BulkQueueAction;
  filter: QueueFilter;
  ids?: string[];
  upTo?: string;
  batchSize?: number;
}

/**
 * Which held deliveries an action takes. Held mail only; bounce and delete leave a delivery that a
 * session holds under a live lease (it is on the wire now), release takes only leased ones.
 */
function actionable(action: BulkQueueAction): Prisma.Sql[] {
  const held = heldPrismaSql("d");
  if (action === "release") return [held, Prisma.sql`(d.lease_owner IS NOT NULL OR d.lease_until IS NOT NULL)`];
  return [held, Prisma.sql`(d.state <> 'delivering' OR d.lease_until IS NULL OR d.lease_until <= now())`];
}

interface Prepared {
  input: z.output<typeof bulkSchema>;
  compiled: CompiledQueueFilter;
  extra: Prisma.Sql[];
  bounds: (column: Prisma.Sql) => Prisma.Sql[];
}

async function prepareBulk(actor: Actor, raw: BulkQueueInput): Promise<Prepared> {
  const input = parseInput(bulkSchema, raw);
  const compiled = await compileQueueFilter(actor, input.filter);
  const ids = input.ids ? [...new Set(input.ids)] : undefined;
  if (ids) {
    // a selection is checked whole: one id outside the actor's reach (another customer's, or none
    // at all) and nothing is done, so a forged id cannot be told from a wrong one
    const reachable = await dbWork(() =>
      getDb().delivery.findMany({
        where: { messageId: { in: ids }, ...customerScope(actor) },
        select: { messageId: true },
        distinct: ["messageId"],
      }),
    );
    const found = new Set(reachable.map((d) => d.messageId));
    const missing = ids.find((id) => !found.has(id));
    if (missing) throw new MailharborError("NOT_FOUND", `no message ${missing}`);
  }
  const bounds = (column: Prisma.Sql) => [
    ...(ids ? [Prisma.sql`${column} = ANY(${ids})`] : []),
    ...(input.upTo ? [Prisma.sql`${column} <= ${input.upTo}`] : []),
  ];
  return { input: { ...input, ids }, compiled, extra: actionable(input.action), bounds };
}

export interface BulkQueueCount {
  /** messages the action would change now */
  count: number;
  /** the newest of them, to pass back as `upTo`; null when there are none */
  upTo: string | null;
}

/** Counts, exactly, the messages a bulk action would change: what the confirmation states. */
export async function countBulkQueueAction(actor: Actor, raw: BulkQueueInput): Promise<BulkQueueCount> {
  const { compiled, extra, bounds } = await prepareBulk(actor, raw);
  const [row] = await dbWork(
    () => getDb().$queryRaw<{ n: bigint; up_to: string | null }[]>`
    SELECT count(*) AS n, max(m.id) AS up_to FROM message m WHERE ${matchingMessagesWhere(compiled, bounds, extra)}`,
  );
  return { count: Number(row?.n ?? 0), upTo: row?.up_to ?? null };
}

export interface BulkQueueOutcome {
  /** messages with at least one delivery changed */
  messages: number;
  deliveries: number;
  /** transactions it took */
  batches: number;
}

type Changed = { message_id: string; recipient: string; customer_id: string };

async function applyBatch(tx: Tx, actor: Actor, action: BulkQueueAction, where: Prisma.Sql, ids: string[]): Promise<Changed[]> {
  if (action === "release") {
    return tx.$queryRaw<Changed[]>`
      UPDATE delivery d SET ${Prisma.raw(REQUEUE_SET)}
      WHERE d.message_id = ANY(${ids}) AND ${where} RETURNING d.message_id, d.recipient, d.customer_id::text`;
  }
  if (action === "delete") {
    const gone = await tx.$queryRaw<Changed[]>`
      DELETE FROM delivery d WHERE d.message_id = ANY(${ids}) AND ${where} RETURNING d.message_id, d.recipient, d.customer_id::text`;
    // the message goes with its last delivery; one that other customers still wait for stays theirs
    const touched = [...new Set(gone.map((d) => d.message_id))];
    if (touched.length)
      await tx.$executeRaw`DELETE FROM message m WHERE m.id = ANY(${touched}) AND NOT EXISTS (SELECT 1 FROM delivery x WHERE x.message_id = m.id)`;
    return gone;
  }
  // the UPDATE re-checks its WHERE on a row a session claimed meanwhile (READ COMMITTED), so a
  // delivery that went onto the wire since the SELECT is left alone
  const bounced = await tx.$queryRaw<Changed[]>`
    UPDATE delivery d SET state = 'bounced', last_error = ${`bounced by ${actor.label}`}, last_attempt_at = now(), lease_owner = NULL, lease_until = NULL
    WHERE d.message_id = ANY(${ids}) AND ${where} RETURNING d.message_id, d.recipient, d.customer_id::text`;
  const byMessage = new Map<string, string[]>();
  for (const d of bounced) byMessage.set(d.message_id, [...(byMessage.get(d.message_id) ?? []), d.recipient]);
  await storeReturnedDsns(
    tx,
    [...byMessage].map(([messageId, recipients]) => ({ messageId, recipients })),
    new Date(),
  );
  return bounced;
}

/**
 * Deletes, bounces or releases the held deliveries of the selected messages, or of every message
 * matching the filter up to `upTo` (which "all matching" must give: the count it confirmed), in
 * batches of `batchSize` messages, newest first, one transaction each. One audit row states the
 * filter and what was done, also when a batch fails part-way (then it names the failure).
 */
export async function runBulkQueueAction(actor: Actor, raw: BulkQueueInput): Promise<BulkQueueOutcome> {
  const { input, compiled, extra, bounds } = await prepareBulk(actor, raw);
  if (!input.ids && !input.upTo) throw new MailharborError("INVALID_INPUT", "upTo: count the matching messages first", { field: "upTo" });
  const where = Prisma.join([...compiled.delivery, ...extra], " AND ");
  const outcome: BulkQueueOutcome = { messages: 0, deliveries: 0, batches: 0 };
  const customers = new Set<string>();
  let failure: unknown;
  let cursor: string | null = null;
  try {
    // bounded: every batch moves the cursor below each message it read
    for (;;) {
      const below: string | null = cursor;
      const batchBounds = (column: Prisma.Sql) => [...bounds(column), ...(below ? [Prisma.sql`${column} < ${below}`] : [])];
      const batch = await dbWork(() =>
        getDb().$transaction(
          async (tx) => {
            const rows = await tx.$queryRaw<{ id: string }[]>`
          SELECT m.id FROM message m WHERE ${matchingMessagesWhere(compiled, batchBounds, extra)} ORDER BY m.id DESC LIMIT ${input.batchSize}`;
            if (!rows.length) return null;
            const ids = rows.map((r) => r.id);
            return { read: ids.length, last: ids[ids.length - 1], changed: await applyBatch(tx, actor, input.action, where, ids) };
          },
          { maxWait: 10_000, timeout: 60_000 },
        ),
      );
      if (!batch) break;
      outcome.batches += 1;
      outcome.deliveries += batch.changed.length;
      outcome.messages += new Set(batch.changed.map((d) => d.message_id)).size;
      for (const d of batch.changed) customers.add(d.customer_id);
      if (batch.read < input.batchSize) break;
      cursor = batch.last;
    }
  } catch (error) {
    failure = error;
  }
  const scope = customerScope(actor);
  const filter = JSON.parse(JSON.stringify(input.filter)) as Prisma.InputJsonValue;
  await dbWork(() =>
    getDb().$transaction((tx) =>
      recordAuditEvent(tx, actor, {
        action: `queue.bulk_${input.action}`,
        objectType: "queue",
        customerId: scope.customerId ?? input.filter.customerId ?? (customers.size === 1 ? [...customers][0] : null),
        details: {
          filter,
          ...(input.ids ? { selected: input.ids.length, ids: input.ids.slice(0, 100) } : { allMatching: true }),
          ...(input.upTo ? { upTo: input.upTo } : {}),
          messages: outcome.messages,
          deliveries: outcome.deliveries,
          ...(failure ? { failed: failure instanceof MailharborError ? failure.code : "INTERNAL" } : {}),
        },
      }),
    ),
  );
  if (failure) throw failure;
  return outcome;
}

/** The message as received (RFC 5322 bytes), for download as .eml; NOT_FOUND once purged. */
export async function getMessageRaw(actor: Actor, messageId: string): Promise<Buffer> {
  const scope = customerScope(actor);
  const body = await dbWork(() =>
    getDb().messageBody.findFirst({
      where: { messageId: String(messageId), message: { deliveries: { some: scope } } },
      select: { raw: true },
    }),
  );
  if (!body) throw new MailharborError("NOT_FOUND", `no message ${messageId}`);
  return Buffer.from(body.raw);
}
