// "Test my connection": a login's recent ODMR sessions with their transcripts (session-transcript.ts),
// newest first, failed authentications included. For staff and for the login's own customer;
// another customer's login answers NOT_FOUND.
import type { Actor } from "../actor.ts";
import { customerScope } from "../actor.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { sessionResult } from "./session-result.ts";
import { readTranscript } from "./session-transcript.ts";
import { parseInput } from "../validation/parse-input.ts";
import { uuidSchema } from "../validation/schemas.ts";

export async function listLoginTranscripts(actor: Actor, loginId: string, options: { limit?: number } = {}) {
  const scope = customerScope(actor);
  const id = parseInput(uuidSchema, loginId);
  const limit = Math.min(Math.max(options.limit ?? 10, 1), 50);
  return dbWork(async () => {
    const login = await getDb().odmrLogin.findFirst({ where: { id, ...scope }, select: { id: true } });
    if (!login) throw new MailharborError("NOT_FOUND", `no login "${loginId}"`);
    const rows = await getDb().odmrSession.findMany({
      where: { loginId: login.id, kind: "atrn", ...scope },
      orderBy: [{ startedAt: "desc" }, { id: "desc" }],
      take: limit,
      select: {
        id: true,
        remoteAddress: true,
        tls: true,
        authenticated: true,
        domainsRequested: true,
        reply: true,
        messagesDelivered: true,
        startedAt: true,
        endedAt: true,
        outcome: true,
        transcript: true,
        releaseFailed: true,
      },
    });
    return rows.map((s) => ({ ...s, result: sessionResult(s), transcript: readTranscript(s.transcript) }));
  });
}
