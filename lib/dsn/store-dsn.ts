// Storing the DSNs (RFC 3464) we owe senders: one row each in the dsn table, which the mailer's
// sender (send-dsns.ts) sends through the smarthost or keeps held for staff. Every path that owes
// a DSN (a 5yz from the customer, staff returning mail, bounce protection's "bounce", expiry, a
// delay warning) stores it here, inside the caller's transaction where the state change that
// owes it is made, so a DSN is never stored without its change or lost with it.
import type { QueryFn } from "../db/pg-pool.ts";

export type DsnReason = "bounced" | "returned" | "expired" | "delayed";

export interface NewDsn {
  messageId: string;
  /** the envelope sender of the original (never empty: RFC 5321 §6.1, no DSN to <>) */
  rcptTo: string;
  raw: Buffer;
  reason: DsnReason;
  /** initialDsnState: pending with a smarthost to send it, held without */
  state: "pending" | "held";
}

/** Rows one INSERT takes (5 parameters each, far below PostgreSQL's 65535). */
const CHUNK = 1000;

/** Stores the DSNs with `query` (the caller's transaction); the number stored. */
export async function storeDsns(query: QueryFn, dsns: NewDsn[]): Promise<number> {
  for (let start = 0; start < dsns.length; start += CHUNK) {
    const chunk = dsns.slice(start, start + CHUNK);
    const values = chunk.map((_, i) => `(gen_random_uuid(), $${i * 5 + 1}, $${i * 5 + 2}, $${i * 5 + 3}::bytea, $${i * 5 + 4}, $${i * 5 + 5}::"DsnState")`);
    await query(
      `INSERT INTO dsn (id, message_id, rcpt_to, raw, reason, state) VALUES ${values.join(", ")}`,
      chunk.flatMap((d) => [d.messageId, d.rcptTo, d.raw, d.reason, d.state]),
    );
  }
  return dsns.length;
}
