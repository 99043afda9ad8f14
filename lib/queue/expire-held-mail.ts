// Held mail that its customer has not collected within the domain's retention is expired: the
// deliveries become `expired`, the sender gets a DSN (Action: failed, Status: 5.4.7, RFC 3463
// "delivery time expired") and the bytes are purged once no recipient needs them.
import { purgeUnneededBodies } from "./record-delivery-results.ts";
import { queueQuery, queueTransaction } from "../db/pg-pool.ts";
import { buildDsn, HEADER_BYTES, type DsnRecipient } from "../dsn/build-dsn.ts";
import { storeDsns } from "../dsn/store-dsn.ts";
import { deliveries } from "../metrics/metrics.ts";

const BATCH = 500;
const SMTP_REPLY = /^[245]\d\d[ -]/;

export interface ExpiryOptions {
  reportingMta: string;
  dsnState: "pending" | "held";
}

export interface ExpiryReport {
  expired: number;
  dsns: number;
}

interface Candidate {
  id: string;
  message_id: string;
  recipient: string;
  last_error: string | null;
  last_attempt_at: Date | null;
}

interface MessageRow {
  id: string;
  mail_from: string;
  received_at: Date;
  raw: Buffer | null;
}

/** Expires one batch of deliveries of domains holding mail `retentionDays`; the number expired. */
async function expireBatch(retentionDays: number, options: ExpiryOptions, report: ExpiryReport): Promise<number> {
  return queueTransaction(async (query) => {
    // (state, created_at) index: only rows older than this retention are read
    const rows = await query<Candidate>(
      `
      SELECT d.id::text AS id, d.message_id, d.recipient, d.last_error, d.last_attempt_at
      FROM delivery d JOIN domain dm ON dm.id = d.domain_id AND dm.retention_days = $1
      WHERE d.state = 'queued' AND d.created_at < now() - make_interval(days => $1)
      ORDER BY d.created_at
      LIMIT $2
      FOR UPDATE OF d SKIP LOCKED`,
      [retentionDays, BATCH],
    );
    if (rows.length === 0) return 0;
    await query(
      `
      UPDATE delivery SET state = 'expired', lease_owner = NULL, lease_until = NULL,
        last_error = $2
      WHERE id = ANY($1::bigint[])`,
      [rows.map((r) => r.id), `not collected within ${retentionDays} days`],
    );
    const messageIds = [...new Set(rows.map((r) => r.message_id))].sort();
    // locked in id order, like every other path that locks several messages
    const messages = await query<MessageRow>(
      `
      SELECT m.id, m.mail_from, m.received_at, substring(b.raw FROM 1 FOR ${HEADER_BYTES}) AS raw
      FROM message m LEFT JOIN message_body b ON b.message_id = m.id
      WHERE m.id = ANY($1::text[]) ORDER BY m.id FOR NO KEY UPDATE OF m`,
      [messageIds],
    );
    for (const message of messages) {
      // RFC 5321 §6.1: never a DSN to the null sender
      if (!message.mail_from) continue;
      const recipients: DsnRecipient[] = rows
        .filter((r) => r.message_id === message.id)
        .map((r) => ({
          recipient: r.recipient,
          action: "failed",
          status: "5.4.7",
          diagnostic: r.last_error && SMTP_REPLY.test(r.last_error) ? r.last_error : null,
          lastAttempt: r.last_attempt_at,
        }));
      const raw = buildDsn({
        kind: "expired",
        reportingMta: options.reportingMta,
        retentionDays,
        original: { queueId: message.id, mailFrom: message.mail_from, receivedAt: message.received_at, raw: message.raw },
        recipients,
      });
      report.dsns += await storeDsns(query, [{ messageId: message.id, rcptTo: message.mail_from, raw, reason: "expired", state: options.dsnState }]);
    }
    await purgeUnneededBodies(query, messageIds);
    report.expired += rows.length;
    return rows.length;
  });
}

/** Expires everything past its domain's retention, in batches. */
export async function expireHeldMail(options: ExpiryOptions): Promise<ExpiryReport> {
  const report: ExpiryReport = { expired: 0, dsns: 0 };
  const retentions = await queueQuery<{ retention_days: number }>("SELECT DISTINCT retention_days FROM domain");
  for (const { retention_days: days } of retentions) {
    while ((await expireBatch(days, options, report)) === BATCH) {
      // another full batch may follow
    }
  }
  deliveries.inc({ outcome: "expired" }, report.expired);
  return report;
}
