// Optional delay warnings (RFC 3464 Action: delayed): senders of mail still held `hours` after
// arrival are told once that it waits for collection. Held mail is normal for ODMR, so this is
// off unless DELAY_WARNING_HOURS is set, and each message is warned about only once.
import { queueQuery } from "../db/pg-pool.ts";
import { buildDsn, HEADER_BYTES } from "../dsn/build-dsn.ts";
import { storeDsns } from "../dsn/store-dsn.ts";

const BATCH = 200;

export interface DelayWarningOptions {
  hours: number;
  reportingMta: string;
  dsnState: "pending" | "held";
}

interface Row {
  message_id: string;
  mail_from: string;
  received_at: Date;
  raw: Buffer | null;
  recipients: string[];
  hold_until: Date;
}

/** Stores delay warnings for messages that crossed the threshold within the last day; the number stored. */
export async function warnDelayedMail(options: DelayWarningOptions): Promise<number> {
  // Only a one-day window past the threshold is looked at (the (state, created_at) index
  // answers it); a mailer that was down for longer skips those warnings rather than send
  // them late.
  const rows = await queueQuery<Row>(
    `
    SELECT g.message_id, m.mail_from, m.received_at, substring(b.raw FROM 1 FOR ${HEADER_BYTES}) AS raw, g.recipients, g.hold_until
    FROM (
      SELECT d.message_id, array_agg(d.recipient ORDER BY d.id) AS recipients,
        min(d.created_at + make_interval(days => dm.retention_days)) AS hold_until
      FROM delivery d
        JOIN domain dm ON dm.id = d.domain_id
        JOIN message mm ON mm.id = d.message_id
      WHERE d.state = 'queued'
        AND d.created_at < now() - make_interval(hours => $1)
        AND d.created_at >= now() - make_interval(hours => $1 + 24)
        AND mm.mail_from <> ''
        AND NOT EXISTS (SELECT 1 FROM dsn x WHERE x.message_id = d.message_id AND x.reason = 'delayed')
      GROUP BY d.message_id
      LIMIT $2
    ) g
      JOIN message m ON m.id = g.message_id
      LEFT JOIN message_body b ON b.message_id = g.message_id`,
    [options.hours, BATCH],
  );
  // one statement for the whole batch: a warning has no state change to go with (NOT EXISTS above
  // keeps it to one per message)
  await storeDsns(
    queueQuery,
    rows.map((row) => ({
      messageId: row.message_id,
      rcptTo: row.mail_from,
      reason: "delayed",
      state: options.dsnState,
      raw: buildDsn({
        kind: "delayed",
        reportingMta: options.reportingMta,
        original: { queueId: row.message_id, mailFrom: row.mail_from, receivedAt: row.received_at, raw: row.raw },
        recipients: row.recipients.map((recipient) => ({
          recipient,
          action: "delayed",
          status: "4.4.1",
          willRetryUntil: row.hold_until,
        })),
      }),
    })),
  );
  return rows.length;
}
