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
 * Records the results of these messages, all of them or none (GroupCommit writes a refused batch
 * again, message by message, and must find every row still ours): in one statement for those
 * whose every recipient was delivered and that nobody else needs, and for the others one
 * statement each, or with a DSN (storeDsns) and the purge of bytes others no longer need, inside
 * one transaction that first locks those messages' rows (in id order, so that two sessions
 * finishing their shares of the same messages cannot deadlock or both leave the bytes behind).
 * `owner`: the session's lease owner; the results come back in the order of `records`.
 */
export async function recordDeliveryResults(owner: string, records: ResultRecord[]): Promise<RecordedResult[]> {
  const endTimer = commitSeconds.startTimer({ operation: "results" });
  const isPlain = (r: ResultRecord) => r.exclusive && !r.dsn && r.results.every((d) => d.outcome === "delivered");
  const plain = records.filter(isPlain);
  const others = records.filter((r) => !isPlain(r));
  const recorded = new Map<ResultRecord, RecordedResult>();
  const recordAll = async (query: QueryFn) => {
    if (plain.length > 0) {
      const rows = await query<{ updated: number; purged: boolean }>(
        DELIVERED_SQL,
        [plain.flatMap((r) => r.results.map((d) => d.deliveryId)), owner, plain.map((r) => r.messageId), plain.map((r) => r.results.length)],
        "mh_record_delivered",
      );
      plain.forEach((record, i) => recorded.set(record, { updated: rows[i].updated, purged: rows[i].purged }));
    }
    const shared = others.filter(needsLock).map((r) => r.messageId);
    if (shared.length > 0) await query("SELECT 1 FROM message WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE", [shared]);
    for (const record of others) recorded.set(record, await writeResults(query, owner, record));
  };
  // a single statement is atomic on its own
  const single = others.length === 0 || (plain.length === 0 && others.length === 1 && !needsLock(others[0]));
  if (single) await recordAll((sql, params, name) => queueQuery(sql, params, name, "relaxed"));
  else await queueTransaction(recordAll, "relaxed");
  endTimer();
  for (const record of records) for (const r of record.results) deliveries.inc({ outcome: r.outcome });
  return records.map((r) => recorded.get(r)!);
}

/** Others may still need the message, or a DSN is stored: written under the message's lock, in more than one statement. */
function needsLock(record: ResultRecord): boolean {
  return !record.exclusive || Boolean(record.dsn);
}

/** One message's results that are not all delivered, or not only ours to finish; its row locked when needsLock. */
async function writeResults(query: QueryFn, owner: string, record: ResultRecord): Promise<RecordedResult> {
  const params = [record.results.map((r) => r.deliveryId), record.results.map((r) => r.outcome), record.results.map((r) => r.error ?? null), owner];
  if (!needsLock(record)) {
    // Purge only if every one of our rows was still ours and is now final.
    const [row] = await query<{ updated: number; purged: number }>(
      `${UPDATE_CTE}, purge AS (
      DELETE FROM message_body WHERE message_id = $5
        AND (SELECT count(*) FROM upd WHERE state <> 'queued') = cardinality($1::bigint[])
      RETURNING message_id
    )
    SELECT (SELECT count(*) FROM upd)::int AS updated, (SELECT count(*) FROM purge)::int AS purged`,
      [...params, record.messageId],
      "mh_record_results",
    );
    return { updated: row.updated, purged: row.purged > 0 };
  }
  // a bounce's DSN is stored in the same transaction as the bounce
  const [row] = await query<{ updated: number; bounced: number }>(
    `${UPDATE_CTE} SELECT count(*)::int AS updated, (count(*) FILTER (WHERE state = 'bounced'))::int AS bounced FROM upd`,
    params,
  );
  const dsn = record.dsn;
  if (dsn && row.bounced > 0) await storeDsns(query, [{ messageId: record.messageId, rcptTo: dsn.rcptTo, raw: dsn.raw, reason: "bounced", state: dsn.state }]);
  const purged = await purgeUnneededBodies(query, [record.messageId]);
  return { updated: row.updated, purged: purged > 0 };
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
