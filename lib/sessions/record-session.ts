// The record of each ODMR connection (OdmrSession): opened when the customer connects, completed
// as it authenticates and asks for its domains, and closed with what was delivered and how it
// ended. An ETRN (RFC 1985) run has one too (kind "etrn"): who asked, the reply, and what the
// run delivered to the domain's target. The mailer writes these; the portal lists them (list-sessions.ts).
import { dbWork, getDb } from "../db/client.ts";

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
  const { id, kind, remoteAddress, tls, ...known } = start;
  await dbWork(() => getDb().odmrSession.create({
    data: { id, kind: kind ?? "atrn", remoteAddress, tls, ...known },
  }));
}

export async function updateOdmrSession(id: string, update: SessionUpdate): Promise<void> {
  await dbWork(() => getDb().odmrSession.update({ where: { id }, data: update }));
}

/** Closes the record with the session's totals (and any last details, such as TLS after STARTTLS). */
export async function finishOdmrSession(id: string, end: SessionEnd & SessionUpdate): Promise<void> {
  const { messagesDelivered, recipientsDelivered, bytesDelivered, outcome, releaseFailed, ...update } = end;
  await dbWork(() => getDb().odmrSession.update({
    where: { id },
    data: {
      ...update,
      messagesDelivered, recipientsDelivered,
      bytesDelivered: BigInt(bytesDelivered),
      outcome: outcome.slice(0, 500),
      releaseFailed: releaseFailed ?? false,
      endedAt: new Date(),
    },
  }));
}

/**
 * Closes the records of sessions that a mailer left open when it died: started between
 * `from` and `before` (a bounded range, so the index on started_at answers it) and never ended.
 */
export async function closeAbandonedSessions(from: Date, before: Date): Promise<number> {
  const { count } = await dbWork(() => getDb().odmrSession.updateMany({
    where: { startedAt: { gte: from, lt: before }, endedAt: null },
    data: { endedAt: new Date(), outcome: "interrupted (the mailer stopped during the session)" },
  }));
  return count;
}
