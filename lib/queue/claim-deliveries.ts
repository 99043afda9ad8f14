// Claiming held deliveries for an ATRN session. Rows are taken with `FOR UPDATE SKIP LOCKED` and
// marked `delivering` under a lease (owner, until): two sessions for one domain share the work and
// never take the same recipient, and the claims of a mailer that dies come back once the lease
// has run out (see release-leases.ts). A message's recipients in the requested domains are claimed
// together, so the customer gets each message once with all of them (one SMTP transaction).
import { heldSql } from "./delivery-state.ts";
import { requeueDeliveries } from "./requeue-deliveries.ts";
import { queueQuery } from "../db/pg-pool.ts";
import { claimSeconds } from "../metrics/metrics.ts";

export interface ClaimedDelivery {
  /** delivery.id (bigint, as text) */
  id: string;
  recipient: string;
}

export interface ClaimedMessage {
  messageId: string;
  mailFrom: string;
  size: number;
  receivedAt: Date;
  bodyType: string | null;
  smtputf8: boolean;
  deliveries: ClaimedDelivery[];
  /**
   * No held delivery of this message lies outside this claim (no other customer, domain or
   * session still needs its bytes), so its results can be recorded without locking the message.
   */
  exclusive: boolean;
}

export interface ClaimRequest {
  /** the lease owner: the mailer instance */
  owner: string;
  customerId: string;
  domainIds: string[];
  /** about this many deliveries (shared among the domains; whole messages are completed beyond it) */
  limit: number;
  leaseSeconds: number;
  /** deliveries attempted at or after this time are skipped: what a session deferred it does not retry itself */
  attemptedBefore: Date;
}

interface ClaimRow {
  id: string;
  message_id: string;
  recipient: string;
  mail_from: string;
  size: number;
  received_at: Date;
  body_type: string | null;
  smtputf8: boolean;
  exclusive: boolean;
}

// Oldest first within each domain, each domain read along the delivery(domain_id, state, id)
// index ($4 per domain), so a claim costs the same however much mail is held.
const CLAIM_SQL = `
WITH picked AS (
  SELECT p.id, p.message_id FROM unnest($1::uuid[]) AS dom(id)
  CROSS JOIN LATERAL (
    SELECT d.id, d.message_id FROM delivery d
    WHERE d.domain_id = dom.id AND d.customer_id = $2::uuid AND d.state = 'queued'
      AND (d.last_attempt_at IS NULL OR d.last_attempt_at < $3::timestamptz)
    ORDER BY d.id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
  ) p
), siblings AS (
  SELECT d.id FROM delivery d
  WHERE d.message_id IN (SELECT message_id FROM picked)
    AND d.domain_id = ANY($1::uuid[]) AND d.customer_id = $2::uuid AND d.state = 'queued'
    AND (d.last_attempt_at IS NULL OR d.last_attempt_at < $3::timestamptz)
  FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE delivery d SET state = 'delivering', lease_owner = $5, lease_until = now() + make_interval(secs => $6)
  WHERE d.id IN (SELECT id FROM picked UNION SELECT id FROM siblings)
  RETURNING d.id, d.message_id, d.recipient
)
SELECT c.id::text AS id, c.message_id, c.recipient, m.mail_from, m.size, m.received_at, m.body_type, m.smtputf8,
  NOT EXISTS (
    SELECT 1 FROM delivery o
    WHERE o.message_id = c.message_id AND ${heldSql("o")}
      AND o.id NOT IN (SELECT id FROM claimed)
  ) AS exclusive
FROM claimed c JOIN message m ON m.id = c.message_id
ORDER BY c.id`;

/** Claims up to `limit` held deliveries of the given domains, grouped by message in queue order. */
export async function claimDeliveries(request: ClaimRequest): Promise<ClaimedMessage[]> {
  if (request.domainIds.length === 0) return [];
  const perDomain = Math.max(1, Math.ceil(request.limit / request.domainIds.length));
  const endTimer = claimSeconds.startTimer();
  const rows = await queueQuery<ClaimRow>(
    CLAIM_SQL,
    [request.domainIds, request.customerId, request.attemptedBefore, perDomain, request.owner, request.leaseSeconds],
    "mh_claim_deliveries",
    "relaxed",
  );
  endTimer();
  const messages = new Map<string, ClaimedMessage>();
  for (const row of rows) {
    let message = messages.get(row.message_id);
    if (!message) {
      message = {
        messageId: row.message_id,
        mailFrom: row.mail_from,
        size: row.size,
        receivedAt: row.received_at,
        bodyType: row.body_type,
        smtputf8: row.smtputf8,
        deliveries: [],
        exclusive: row.exclusive,
      };
      messages.set(row.message_id, message);
    }
    message.deliveries.push({ id: row.id, recipient: row.recipient });
  }
  return [...messages.values()];
}

/** The raw bytes of the given messages (those whose bytes are gone are missing from the map). */
export async function loadMessageBodies(messageIds: string[]): Promise<Map<string, Buffer>> {
  if (messageIds.length === 0) return new Map();
  const rows = await queueQuery<{ message_id: string; raw: Buffer }>(
    "SELECT message_id, raw FROM message_body WHERE message_id = ANY($1::text[])",
    [messageIds],
    "mh_load_bodies",
  );
  return new Map(rows.map((r) => [r.message_id, r.raw]));
}

/** Extends the lease on deliveries this owner still holds. */
export async function renewLeases(owner: string, deliveryIds: string[], leaseSeconds: number): Promise<void> {
  if (deliveryIds.length === 0) return;
  await queueQuery(
    `UPDATE delivery SET lease_until = now() + make_interval(secs => $3)
     WHERE id = ANY($1::bigint[]) AND lease_owner = $2`,
    [deliveryIds, owner, leaseSeconds],
  );
}

/**
 * Gives claimed deliveries back to the queue. With `attempt`, they count as attempted (the
 * connection was lost while they were in flight) and keep the error; otherwise they were never
 * offered and come back untouched.
 */
export async function releaseDeliveries(owner: string, deliveryIds: string[], attempt?: { error: string }): Promise<void> {
  if (deliveryIds.length === 0) return;
  // only a delivering row has a lease owner (see record-delivery-results.ts)
  const mine = "id = ANY($1::bigint[]) AND lease_owner = $2";
  if (attempt) {
    await requeueDeliveries(mine, [deliveryIds, owner, attempt.error], "attempts = attempts + 1, last_attempt_at = now(), last_error = $3");
  } else {
    await requeueDeliveries(mine, [deliveryIds, owner]);
  }
}
