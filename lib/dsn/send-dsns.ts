// Sends stored DSNs through the smarthost (SMARTHOST=host:port) with MAIL FROM:<> (RFC 5321
// §4.5.5). Without a smarthost they stay in the dsn table as `held`, where staff see them; they
// are never dropped. A DSN the smarthost refuses permanently is held with its reply; one it
// defers is tried again on the next run, for up to DSN_RETRY_DAYS. Housekeeping and the staff's
// "send now" both send through here, one sender at a time across all processes (an advisory lock),
// so no DSN goes out twice.
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { UNTRIED_HELD_SQL } from "./dsn-status.ts";
import { queueQuery, withAdvisoryLock } from "../db/pg-pool.ts";
import type { HostPort } from "../validation/host-port.ts";

/** A DSN still undelivered this long after it was made is held for staff instead of retried. */
const DSN_RETRY_DAYS = 5;
const BATCH = 50;
/** pg advisory lock key for "one DSN sender at a time" ("mhds") */
const DSN_SEND_LOCK = 0x6d686473;

export type Smarthost = HostPort;

export interface DsnSendReport {
  sent: number;
  deferred: number;
  held: number;
  /** set when the smarthost could not be reached at all */
  connectError?: string;
  /** another process was sending DSNs: nothing was done */
  busy?: boolean;
}

interface DsnRow {
  id: string;
  rcpt_to: string;
  raw: Buffer;
  created_at: Date;
}

/** The state a new DSN starts in: pending when there is a smarthost to send it, held otherwise. */
export function initialDsnState(smarthost: string | undefined): "pending" | "held" {
  return smarthost ? "pending" : "held";
}

function connect(smarthost: Smarthost, clientName: string, timeoutMs: number): Promise<SMTPConnection> {
  return new Promise((resolve, reject) => {
    const connection = new SMTPConnection({
      host: smarthost.host,
      port: smarthost.port,
      name: clientName,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      // STARTTLS when offered, without insisting on a certificate we could verify (like
      // Postfix's smtp_tls_security_level=may): a relay inside the ISP often has none
      tls: { rejectUnauthorized: false },
    });
    connection.once("error", reject);
    connection.connect((error?: Error | null) => {
      connection.removeListener("error", reject);
      if (error) return reject(error);
      connection.on("error", () => undefined); // a later failure surfaces through send()
      resolve(connection);
    });
  });
}

function send(connection: SMTPConnection, rcptTo: string, raw: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    connection.send({ from: "", to: [rcptTo] }, raw, (error) => (error ? reject(error) : resolve()));
  });
}

/** One message through the smarthost with MAIL FROM:<> (notifications too: nothing may bounce back to us). */
export async function sendThroughSmarthost(smarthost: Smarthost, clientName: string, rcptTo: string, raw: Buffer, timeoutMs = 60_000): Promise<void> {
  const connection = await connect(smarthost, clientName, timeoutMs);
  try {
    await send(connection, rcptTo, raw);
  } finally {
    connection.quit();
  }
}

/**
 * Sends what is waiting: pending DSNs, and held ones that were never tried (stored while no
 * smarthost was configured); or, with `ids`, exactly those DSNs that are not sent yet, whatever
 * happened to them before (staff's "send now" after a refusal).
 */
export async function sendStoredDsns(smarthost: Smarthost, clientName: string, timeoutMs = 60_000, options: { ids?: string[] } = {}): Promise<DsnSendReport> {
  const report = await withAdvisoryLock(DSN_SEND_LOCK, () => sendLocked(smarthost, clientName, timeoutMs, options.ids));
  return report ?? { sent: 0, deferred: 0, held: 0, busy: true };
}

async function sendLocked(smarthost: Smarthost, clientName: string, timeoutMs: number, ids: string[] | undefined): Promise<DsnSendReport> {
  const report: DsnSendReport = { sent: 0, deferred: 0, held: 0 };
  const rows = ids
    ? await queueQuery<DsnRow>(`SELECT id::text AS id, rcpt_to, raw, created_at FROM dsn WHERE id = ANY($1::uuid[]) AND state <> 'sent' ORDER BY created_at`, [
        ids,
      ])
    : await queueQuery<DsnRow>(
        `SELECT id::text AS id, rcpt_to, raw, created_at FROM dsn
       WHERE state = 'pending' OR ${UNTRIED_HELD_SQL}
       ORDER BY created_at LIMIT $1`,
        [BATCH],
      );
  if (rows.length === 0) return report;
  let connection: SMTPConnection | null = null;
  try {
    for (const row of rows) {
      try {
        connection ??= await connect(smarthost, clientName, timeoutMs);
      } catch (error) {
        report.connectError = (error as Error).message;
        break;
      }
      try {
        await send(connection, row.rcpt_to, row.raw);
        await queueQuery(`UPDATE dsn SET state = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1::uuid`, [row.id]);
        report.sent++;
      } catch (error) {
        const e = error as { responseCode?: number; message: string };
        const permanent = typeof e.responseCode === "number" && e.responseCode >= 500;
        const expired = Date.now() - row.created_at.getTime() > DSN_RETRY_DAYS * 86_400_000;
        const state = permanent || expired ? "held" : "pending";
        await queueQuery(`UPDATE dsn SET state = $2::"DsnState", attempts = attempts + 1, last_error = $3 WHERE id = $1::uuid`, [
          row.id,
          state,
          e.message.slice(0, 500),
        ]);
        if (state === "held") report.held++;
        else report.deferred++;
        // the failed transaction may leave the session in any state: start the next one afresh
        connection.close();
        connection = null;
      }
    }
  } finally {
    connection?.quit();
  }
  return report;
}
