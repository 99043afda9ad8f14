// The ODMR logins as the staff list shows them: filtered by name, customer and status, a page at a
// time, each with the domains it collects and its newest session. Within the actor's reach.
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { customerScope } from "../actor.ts";
import { dbWork, getDb, type Prisma } from "../db/client.ts";
import { sessionResult } from "../sessions/session-result.ts";
import { parseInput } from "../validation/parse-input.ts";
import { uuidSchema } from "../validation/schemas.ts";

const filterSchema = z.object({
  /** part of the login name */
  search: z.string().trim().max(100, "at most 100 characters").optional(),
  customerId: uuidSchema.optional(),
  status: z.enum(["active", "disabled"], { message: "status must be active or disabled" }).optional(),
  take: z.coerce.number().int().min(1).max(500).default(50),
  skip: z.coerce.number().int().min(0).default(0),
});

export type LoginSearch = z.input<typeof filterSchema>;

interface LastSession {
  login_id: string;
  id: string;
  started_at: Date;
  reply: string | null;
  release_failed: boolean;
  outcome: string | null;
  authenticated: boolean;
}

export async function searchLogins(actor: Actor, filter: LoginSearch = {}) {
  const scope = customerScope(actor);
  const f = parseInput(filterSchema, filter);
  const and: Prisma.OdmrLoginWhereInput[] = [scope];
  if (f.customerId) and.push({ customerId: f.customerId });
  if (f.status) and.push({ status: f.status });
  if (f.search) and.push({ login: { contains: f.search, mode: "insensitive" } });
  const where = { AND: and };
  const [total, rows] = await dbWork(() =>
    Promise.all([
      getDb().odmrLogin.count({ where }),
      getDb().odmrLogin.findMany({
        where,
        orderBy: { login: "asc" },
        take: f.take,
        skip: f.skip,
        select: {
          id: true,
          login: true,
          status: true,
          allDomains: true,
          lastUsedAt: true,
          lastUsedIp: true,
          customer: { select: { id: true, name: true, status: true, _count: { select: { domains: true } } } },
          domains: { select: { domain: { select: { id: true, name: true } } }, orderBy: { domain: { name: "asc" } } },
        },
      }),
    ]),
  );
  const ids = rows.map((r) => r.id);
  // the newest session of each login on the page: one index probe each (login_id, started_at)
  const last = ids.length
    ? await dbWork(
        () => getDb().$queryRaw<LastSession[]>`
    SELECT s.login_id, s.id, s.started_at, s.reply, s.outcome, s.authenticated, s.release_failed
    FROM unnest(${ids}::uuid[]) AS l(id)
    CROSS JOIN LATERAL (
      SELECT login_id, id, started_at, reply, outcome, authenticated, release_failed FROM odmr_session
      WHERE login_id = l.id ORDER BY started_at DESC LIMIT 1
    ) s`,
      )
    : [];
  const byLogin = new Map(last.map((s) => [s.login_id, s]));
  const items = rows.map((r) => {
    const s = byLogin.get(r.id);
    return {
      ...r,
      lastSession: s
        ? {
            id: s.id,
            startedAt: s.started_at,
            reply: s.reply,
            outcome: s.outcome,
            authenticated: s.authenticated,
            result: sessionResult({ reply: s.reply, releaseFailed: s.release_failed }),
          }
        : null,
    };
  });
  return { total, items };
}
