// What the customer answered, per recipient, for one message of an ATRN session (RFC 5321 §4.2.5):
// 2yz after the final dot: delivered, exactly once; 4yz: back in the queue with the error;
// 5yz: bounced, with the DSN owed to the sender stored in the same transaction. When no
// recipient still needs the message, its bytes are purged in that transaction too. Held: a 5yz
// that bounce protection (lib/protection/bounce-protection.ts) keeps back: queued again with the
// reply, marked as refused while protected, and no DSN.
import { heldSql } from "./delivery-state.ts";
import { queueQuery, queueTransaction, type QueryFn } from "../db/pg-pool.ts";
import { storeDsns } from "../dsn/store-dsn.ts";
import { commitSeconds, deliveries } from "../metrics/metrics.ts";

export type DeliveryOutcome = "delivered" | "deferred" | "bounced" | "held";

export interface DeliveryResult {
  deliveryId: string;
  outcome: DeliveryOutcome;
  /** the customer's reply for a deferred or bounced recipient */
  error?: string | null;
}

export interface ResultRecord {
  messageId: string;
  /** from the claim: nothing outside this session still needs the message */
  exclusive: boolean;
  results: DeliveryResult[];
  /** the bounce to store when a recipient was bounced (none for the null sender) */
  dsn?: { rcptTo: string; raw: Buffer; state: "pending" | "held" } | null;
}

export interface RecordedResult {
  /** rows still held by this owner that were updated (fewer if a lease was lost) */
  updated: number;
  purged: boolean;
}

// The results as a table: unnest($1 ids, $2 outcomes, $3 errors). A session's rows are found by
// id and lease owner, which only a delivering row has (the delivery_lease_while_delivering check),
// so the planner reads the primary key and not the state indexes full of dead 'delivering' entries
// (test/integration/queue-leases.test.ts reads the plans of this and DELIVERED_SQL).
export const UPDATE_CTE = `
WITH r AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS r(id, outcome, error)
), upd AS (
  UPDATE delivery d SET
    state = (CASE WHEN r.outcome IN ('deferred', 'held') THEN 'queued' ELSE r.outcome END)::"DeliveryState",
    protection_held = r.outcome = 'held',
    last_error = r.error,
    attempts = d.attempts + 1,
    last_attempt_at = now(),
    delivered_at = CASE WHEN r.outcome = 'delivered' THEN now() END,
    lease_owner = NULL, lease_until = NULL
  FROM r
  WHERE d.id = r.id AND d.lease_owner = $4
  RETURNING d.id, d.state
)`;

// The common case: every recipient delivered, nobody else needs the message. One statement for
// several such messages ($3 their ids, $4 how many of $1 each one has): a message's bytes are
// purged only if every one of its rows was still ours.
export const DELIVERED_SQL = `
WITH m AS (
  SELECT * FROM unnest($3::text[], $4::int[]) WITH ORDINALITY AS m(id, wanted, n)
), upd AS (
  UPDATE delivery SET state = 'delivered', last_error = NULL, attempts = attempts + 1,
    last_attempt_at = now(), delivered_at = now(), lease_owner = NULL, lease_until = NULL
  WHERE id = ANY($1::bigint[]) AND lease_owner = $2
  RETURNING message_id
), counted AS (
  SELECT m.id, m.n, m.wanted, (SELECT count(*) FROM upd WHERE upd.message_id = m.id)::int AS updated FROM m
), purge AS (
  DELETE FROM message_body WHERE message_id IN (SELECT id FROM counted WHERE updated = wanted)
  RETURNING message_id
)
SELECT c.id, c.updated, c.id IN (SELECT message_id FROM purge) AS purged FROM counted c ORDER BY c.n`;

/**
 * Records the results of these messages, in one statement for those whose every recipient was
 * delivered and that nobody else needs. The others are one statement each, or (when a DSN is owed
 * or others need the message) one transaction each (with the DSN, storeDsns) that locks the
 * message row first, so that two sessions finishing their shares of one message at the same time
 * cannot both leave its bytes behind. `owner`: the session's lease owner; the results come back in
 * the order of `records`.
 */
export async function recordDeliveryResults(owner: string, records: ResultRecord[]): Promise<RecordedResult[]> {
  const endTimer = commitSeconds.startTimer({ operation: "results" });
  const recorded = new Map<ResultRecord, RecordedResult>();
  const plain = records.filter((r) => r.exclusive && !r.dsn && r.results.every((d) => d.outcome === "delivered"));
  if (plain.length > 0) {
    const rows = await queueQuery<{ updated: number; purged: boolean }>(
      DELIVERED_SQL,
      [plain.flatMap((r) => r.results.map((d) => d.deliveryId)), owner, plain.map((r) => r.messageId), plain.map((r) => r.results.length)],
      "mh_record_delivered",
      "relaxed",
    );
    plain.forEach((record, i) => recorded.set(record, { updated: rows[i].updated, purged: rows[i].purged }));
  }
  for (const record of records) if (!recorded.has(record)) recorded.set(record, await writeResults(owner, record));
  endTimer();
  for (const record of records) for (const r of record.results) deliveries.inc({ outcome: r.outcome });
  return records.map((r) => recorded.get(r)!);
}

async function writeResults(owner: string, record: ResultRecord): Promise<RecordedResult> {
  const params = [record.results.map((r) => r.deliveryId), record.results.map((r) => r.outcome), record.results.map((r) => r.error ?? null), owner];
  if (record.exclusive && !record.dsn) {
    // Purge only if every one of our rows was still ours and is now final.
    const [row] = await queueQuery<{ updated: number; purged: number }>(
      `${UPDATE_CTE}, purge AS (
      DELETE FROM message_body WHERE message_id = $5
        AND (SELECT count(*) FROM upd WHERE state <> 'queued') = cardinality($1::bigint[])
      RETURNING message_id
    )
    SELECT (SELECT count(*) FROM upd)::int AS updated, (SELECT count(*) FROM purge)::int AS purged`,
      [...params, record.messageId],
      "mh_record_results",
      "relaxed",
    );
    return { updated: row.updated, purged: row.purged > 0 };
  }
  // a bounce's DSN is stored in the same transaction as the bounce
  const dsn = record.dsn;
  return queueTransaction(async (query) => {
    await query("SELECT 1 FROM message WHERE id = $1 FOR NO KEY UPDATE", [record.messageId]);
    const [row] = await query<{ updated: number; bounced: number }>(
      `${UPDATE_CTE} SELECT count(*)::int AS updated, (count(*) FILTER (WHERE state = 'bounced'))::int AS bounced FROM upd`,
      params,
    );
    if (dsn && row.bounced > 0)
      await storeDsns(query, [{ messageId: record.messageId, rcptTo: dsn.rcptTo, raw: dsn.raw, reason: "bounced", state: dsn.state }]);
    const purged = await purgeUnneededBodies(query, [record.messageId]);
    return { updated: row.updated, purged: purged > 0 };
  }, "relaxed");
}

/**
 * Deletes the bytes of those messages that no recipient still needs. Call with the messages'
 * rows locked (FOR NO KEY UPDATE) in the same transaction, after their deliveries were updated.
 */
export async function purgeUnneededBodies(query: QueryFn, messageIds: string[]): Promise<number> {
  const rows = await query(
    `
    DELETE FROM message_body mb WHERE mb.message_id = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.message_id = mb.message_id AND ${heldSql("d")})
    RETURNING mb.message_id`,
    [messageIds],
  );
  return rows.length;
}
