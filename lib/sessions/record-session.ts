// The record of each ODMR connection (OdmrSession): opened when the customer connects, completed
// as it authenticates and asks for its domains, and closed with what was delivered and how it
// ended. An ETRN (RFC 1985) run has one too (kind "etrn"): who asked, the reply, and what the
// run delivered to the domain's target. The mailer writes these; the portal lists them (list-sessions.ts).
import type { TranscriptEvent } from "./session-transcript.ts";
import { dbWork, getDb } from "../db/client.ts";
import { queueQuery } from "../db/pg-pool.ts";
import { normalizeLoginName } from "../validation/login-name.ts";

export interface SessionStart {
  id: string;
  remoteAddress: string;
  tls: boolean;
  /** "atrn" unless given */
  kind?: "atrn" | "etrn";
}

export interface SessionUpdate {
  tls?: boolean;
  loginId?: string;
  customerId?: string;
  loginName?: string;
  domainsRequested?: string[];
  /** the reply to ATRN or ETRN, e.g. "250 OK now reversing the connection" */
  reply?: string;
  /** a successful AUTH happened (set with loginId) */
  authenticated?: boolean;
  /** the session's transcript so far (session-transcript.ts); written only for sessions of a login */
  transcript?: TranscriptEvent[];
}

export interface SessionEnd {
  messagesDelivered: number;
  recipientsDelivered: number;
  bytesDelivered: number;
  /** how the session ended, e.g. "completed", "customer closed after 250", "timeout waiting for 220" */
  outcome: string;
  /** the release its reply granted did not take place (see session-result.ts) */
  releaseFailed?: boolean;
}

// The mailer writes a record at connect, after AUTH, with the ATRN reply and at the end: through
// the pool (pg-pool.ts), because through Prisma one such write with a transcript took about 10 ms
// of the mailer's CPU (measured: 9.6 ms for 22 KB of transcript, 0.8 ms through pg), on the path
// of every ATRN reply.
const COLUMNS: { [K in keyof SessionUpdate]-?: string } = {
  tls: "tls",
  loginId: "login_id",
  customerId: "customer_id",
  loginName: "login_name",
  domainsRequested: "domains_requested",
  reply: "reply",
  authenticated: "authenticated",
  transcript: "transcript",
};
const CASTS: Partial<Record<keyof SessionUpdate, string>> = { loginId: "::uuid", customerId: "::uuid", domainsRequested: "::text[]", transcript: "::jsonb" };

/** The columns an update sets, each with its parameter's placeholder (the transcript as JSON), appended to `params`. */
function assignments(update: SessionUpdate, params: unknown[]): [column: string, placeholder: string][] {
  const set: [string, string][] = [];
  for (const key of Object.keys(COLUMNS) as (keyof SessionUpdate)[]) {
    const value = update[key];
    if (value === undefined) continue;
    params.push(key === "transcript" ? JSON.stringify(value) : value);
    set.push([COLUMNS[key], `$${params.length}${CASTS[key] ?? ""}`]);
  }
  return set;
}

/** Opens the record; an ETRN run's record starts with everything but its totals (who asked, the reply). */
export async function startOdmrSession(start: SessionStart & SessionUpdate): Promise<void> {
  const params: unknown[] = [start.id, start.kind ?? "atrn", start.remoteAddress];
  // an ETRN run's record with a login is started after that login's AUTH
  const set = assignments({ authenticated: Boolean(start.loginId), ...start }, params);
  await queueQuery(
    `INSERT INTO odmr_session (id, kind, remote_address${set.map(([column]) => `, ${column}`).join("")})
     VALUES ($1::uuid, $2::"SessionKind", $3${set.map(([, placeholder]) => `, ${placeholder}`).join("")})`,
    params,
  );
}

export async function updateOdmrSession(id: string, update: SessionUpdate): Promise<void> {
  const params: unknown[] = [id];
  const set = assignments(update, params);
  if (set.length === 0) return;
  await queueQuery(`UPDATE odmr_session SET ${set.map(([column, placeholder]) => `${column} = ${placeholder}`).join(", ")} WHERE id = $1::uuid`, params);
}

/**
 * Of the ended ATRN sessions whose AUTH named a login and never succeeded, this many per login are
 * kept (the newest): enough for its owner and support to see what a misconfigured server does,
 * too few for someone guessing its password to fill the database. The log keeps every failure
 * (ODMR_AUTH_FAILED).
 */
export const FAILED_AUTH_SESSIONS_KEPT = 20;

/**
 * A failed AUTH named `attemptedName`: when that is an existing login, the session becomes that
 * login's (and its customer's), so its owner sees the attempt; older failed sessions of the login
 * beyond FAILED_AUTH_SESSIONS_KEPT are removed. Returns whether a login was found.
 */
export async function linkFailedAuth(id: string, attemptedName: string): Promise<boolean> {
  const name = normalizeLoginName(attemptedName);
  return dbWork(async () => {
    const login = name ? await getDb().odmrLogin.findUnique({ where: { login: name }, select: { id: true, login: true, customerId: true } }) : null;
    if (!login) {
      // the name tried is kept (not linked to any login), so staff can see which login was tried
      await updateOdmrSession(id, { loginName: attemptedName.slice(0, 64) });
      return false;
    }
    await updateOdmrSession(id, { loginId: login.id, customerId: login.customerId, loginName: login.login });
    await getDb().$executeRaw`
      DELETE FROM odmr_session WHERE id IN (
        SELECT id FROM odmr_session
        WHERE login_id = ${login.id}::uuid AND kind = 'atrn' AND NOT authenticated AND ended_at IS NOT NULL
        ORDER BY started_at DESC, id DESC OFFSET ${FAILED_AUTH_SESSIONS_KEPT})`;
    return true;
  });
}

/** Closes the record with the session's totals (and any last details, such as TLS after STARTTLS). */
export async function finishOdmrSession(id: string, end: SessionEnd & SessionUpdate): Promise<void> {
  const { messagesDelivered, recipientsDelivered, bytesDelivered, outcome, releaseFailed, ...update } = end;
  const params: unknown[] = [id, messagesDelivered, recipientsDelivered, bytesDelivered, outcome.slice(0, 500), releaseFailed ?? false];
  const set = assignments(update, params);
  await queueQuery(
    `UPDATE odmr_session SET messages_delivered = $2, recipients_delivered = $3, bytes_delivered = $4::bigint, outcome = $5, release_failed = $6,
       ended_at = now()${set.map(([column, placeholder]) => `, ${column} = ${placeholder}`).join("")}
     WHERE id = $1::uuid`,
    params,
  );
}

/**
 * Closes the records of sessions that a mailer left open when it died: started between
 * `from` and `before` (a bounded range, so the index on started_at answers it) and never ended.
 */
export async function closeAbandonedSessions(from: Date, before: Date): Promise<number> {
  const { count } = await dbWork(() =>
    getDb().odmrSession.updateMany({
      where: { startedAt: { gte: from, lt: before }, endedAt: null },
      data: { endedAt: new Date(), outcome: "interrupted (the mailer stopped during the session)" },
    }),
  );
  return count;
}
