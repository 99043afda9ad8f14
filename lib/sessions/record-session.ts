// The record of each ODMR connection (OdmrSession): opened when the customer connects, completed
// as it authenticates and asks for its domains, and closed with what was delivered and how it
// ended. An ETRN (RFC 1985) run has one too (kind "etrn"): who asked, the reply, and what the
// run delivered to the domain's target. The mailer writes these; the portal lists them (list-sessions.ts).
import type { TranscriptEvent } from "./session-transcript.ts";
import { dbWork, getDb, type Prisma } from "../db/client.ts";
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

/** Opens the record; an ETRN run's record starts with everything but its totals (who asked, the reply). */
export async function startOdmrSession(start: SessionStart & SessionUpdate): Promise<void> {
  const { id, kind, remoteAddress, tls, transcript, ...known } = start;
  await dbWork(() =>
    getDb().odmrSession.create({
      // an ETRN run's record with a login is started after that login's AUTH
      data: { id, kind: kind ?? "atrn", remoteAddress, tls, authenticated: Boolean(known.loginId), ...known, ...transcriptData(transcript) },
    }),
  );
}

function transcriptData(transcript: TranscriptEvent[] | undefined): { transcript?: Prisma.InputJsonValue } {
  return transcript ? { transcript: transcript as unknown as Prisma.InputJsonValue } : {};
}

export async function updateOdmrSession(id: string, update: SessionUpdate): Promise<void> {
  const { transcript, ...rest } = update;
  await dbWork(() => getDb().odmrSession.update({ where: { id }, data: { ...rest, ...transcriptData(transcript) } }));
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
    const login = name ? await getDb().odmrLogin.findUnique({ where: { login: name }, select: { id: true, customerId: true } }) : null;
    if (!login) {
      // the name tried is kept (not linked to any login), so staff can see which login was tried
      await getDb().odmrSession.update({ where: { id }, data: { loginName: attemptedName.slice(0, 64) } });
      return false;
    }
    await getDb().odmrSession.update({ where: { id }, data: { loginId: login.id, customerId: login.customerId, loginName: name } });
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
  const { messagesDelivered, recipientsDelivered, bytesDelivered, outcome, transcript, releaseFailed, ...update } = end;
  await dbWork(() =>
    getDb().odmrSession.update({
      where: { id },
      data: {
        ...update,
        ...transcriptData(transcript),
        messagesDelivered,
        recipientsDelivered,
        bytesDelivered: BigInt(bytesDelivered),
        outcome: outcome.slice(0, 500),
        releaseFailed: releaseFailed ?? false,
        endedAt: new Date(),
      },
    }),
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
