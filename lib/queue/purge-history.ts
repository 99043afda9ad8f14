// History does not grow forever: messages all of whose recipients are final (delivered, bounced,
// expired) for longer than HISTORY_DAYS go, with their delivery rows and any bytes left; so do
// DSNs sent that long ago, ODMR/ETRN session records that ended that long ago, and notifications
// made that long ago (with their delivery log; none still being delivered) and episodes closed that
// long ago. Held mail is
// never touched here (its own retention expires it, with a DSN). The audit log is kept.
import { heldSql } from "./delivery-state.ts";
import { queueIdAt } from "./queue-id.ts";
import { queueQuery } from "../db/pg-pool.ts";

const BATCH = 5000;

export interface PurgeReport {
  messages: number;
  dsns: number;
  sessions: number;
  notifications: number;
}

export async function purgeHistory(days: number, now = Date.now()): Promise<PurgeReport> {
  const cutoff = new Date(now - days * 86_400_000);
  // ids are time-ordered: only messages that arrived before the cutoff can qualify
  const beforeId = queueIdAt(cutoff.getTime());
  let messages = 0;
  for (;;) {
    const rows = await queueQuery<{ id: string }>(
      `
      DELETE FROM message WHERE id IN (
        SELECT m.id FROM message m
        WHERE m.id < $1
          AND NOT EXISTS (
            SELECT 1 FROM delivery d WHERE d.message_id = m.id
              AND (${heldSql("d")} OR coalesce(d.delivered_at, d.last_attempt_at, d.created_at) >= $2))
        ORDER BY m.id LIMIT $3)
      RETURNING id`,
      [beforeId, cutoff, BATCH],
    );
    messages += rows.length;
    if (rows.length < BATCH) break;
  }
  const dsns = await queueQuery(`DELETE FROM dsn WHERE state = 'sent' AND sent_at < $1 RETURNING id`, [cutoff]);
  const sessions = await queueQuery(`DELETE FROM odmr_session WHERE ended_at < $1 RETURNING id`, [cutoff]);
  const notifications = await queueQuery(
    `
    DELETE FROM notification n WHERE n.created_at < $1
      AND NOT EXISTS (SELECT 1 FROM notification_delivery d WHERE d.notification_id = n.id AND d.state = 'pending')
    RETURNING id`,
    [cutoff],
  );
  await queueQuery(`DELETE FROM notification_episode WHERE closed_at < $1`, [cutoff]);
  return { messages, dsns: dsns.length, sessions: sessions.length, notifications: notifications.length };
}
