// How an ODMR/ETRN session went, as one rule for the session list, its filter and the dashboard's
// chart: the predicate for rows in hand, and the same rule as SQL and as a Prisma filter.
// A session's reply is what the client was told; `releaseFailed` is what happened after:
//   released  ATRN 250 (RFC 2645 §4: the connection turns round), ETRN 250/252/253 (RFC 1985 §4:
//             a queue run started) — and the run could go ahead;
//   no-mail   ATRN 453 (authorized, nothing held), ETRN 251 (no messages waiting);
//   failed    released, but the run could not take place (the ETRN target could not be reached or
//             refused to take mail): everything stayed held;
//   refused   any other reply (530, 450, 451, 458, 459, 501 …);
//   no-atrn   no reply: the session ended before ATRN.
// "Successful" means released or no-mail: the session did what it came for.
import { Prisma } from "../db/client.ts";

export const SESSION_RESULTS = ["released", "no-mail", "failed", "refused", "no-atrn"] as const;
export type SessionResult = (typeof SESSION_RESULTS)[number];

const RELEASED = ["250", "252", "253"];
const NO_MAIL = ["453", "251"];

export function sessionResult(session: { reply: string | null; releaseFailed: boolean }): SessionResult {
  const { reply } = session;
  if (!reply) return "no-atrn";
  if (RELEASED.some((code) => reply.startsWith(code))) return session.releaseFailed ? "failed" : "released";
  if (NO_MAIL.some((code) => reply.startsWith(code))) return "no-mail";
  return "refused";
}

/** The results that count as successful: the session did what it came for. */
export const SUCCESSFUL_RESULTS: readonly SessionResult[] = ["released", "no-mail"];

const likeAny = (codes: string[]) =>
  Prisma.join(
    codes.map((code) => Prisma.sql`reply LIKE ${`${code}%`}`),
    " OR ",
  );

/** "sessionResult is one of SUCCESSFUL_RESULTS" as SQL over odmr_session (a NULL reply is not successful). */
export const SUCCESSFUL_SESSION_SQL = Prisma.sql`(((${likeAny(RELEASED)}) AND NOT release_failed) OR (${likeAny(NO_MAIL)}))`;

const startsWithAny = (codes: string[]): Prisma.OdmrSessionWhereInput[] => codes.map((code) => ({ reply: { startsWith: code } }));

/** The sessions with one result, as a Prisma filter for the session list. */
export function sessionResultWhere(result: SessionResult): Prisma.OdmrSessionWhereInput {
  switch (result) {
    case "released":
      return { OR: startsWithAny(RELEASED), releaseFailed: false };
    case "failed":
      return { OR: startsWithAny(RELEASED), releaseFailed: true };
    case "no-mail":
      return { OR: startsWithAny(NO_MAIL) };
    case "no-atrn":
      return { reply: null };
    case "refused":
      return { NOT: [{ reply: null }, ...startsWithAny(RELEASED), ...startsWithAny(NO_MAIL)] };
  }
}
