// ODMR/ETRN sessions as the portal lists them, newest first, within the actor's reach.
// Keyset paging on (started_at, id).
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { customerScope } from "../actor.ts";
import { dbWork, getDb, type Prisma } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { SESSION_RESULTS, sessionResult, sessionResultWhere } from "./session-result.ts";
import { parseInput } from "../validation/parse-input.ts";
import { uuidSchema } from "../validation/schemas.ts";

export { SESSION_RESULTS, type SessionResult } from "./session-result.ts";

const filterSchema = z.object({
  customerId: uuidSchema.optional(),
  loginId: uuidSchema.optional(),
  result: z.enum(SESSION_RESULTS).optional(),
  kind: z.enum(["atrn", "etrn"]).optional(),
  /** sessions that asked for this domain (by name) */
  domain: z.string().trim().toLowerCase().min(1).max(255).optional(),
  /** "<ISO time>_<id>" of the last row of the previous page */
  before: z
    .string()
    .regex(/^\d{4}-\d\d-\d\dT[\d:.]+Z_[0-9a-f-]{36}$/, "not a page cursor")
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export type SessionFilter = z.input<typeof filterSchema>;

export async function listSessions(actor: Actor, filter: SessionFilter = {}) {
  const scope = customerScope(actor);
  const f = parseInput(filterSchema, filter);
  const and: Prisma.OdmrSessionWhereInput[] = [scope];
  if (f.customerId) and.push({ customerId: f.customerId });
  if (f.loginId) and.push({ loginId: f.loginId });
  if (f.result) and.push(sessionResultWhere(f.result));
  if (f.kind) and.push({ kind: f.kind });
  if (f.domain) and.push({ domainsRequested: { has: f.domain } });
  if (f.before) {
    const cut = f.before.lastIndexOf("_");
    const at = new Date(f.before.slice(0, cut));
    if (Number.isNaN(at.getTime())) throw new MailharborError("INVALID_INPUT", "before: not a page cursor");
    const id = f.before.slice(cut + 1);
    and.push({ OR: [{ startedAt: { lt: at } }, { startedAt: at, id: { lt: id } }] });
  }
  const rows = await dbWork(() =>
    getDb().odmrSession.findMany({
      where: { AND: and },
      orderBy: [{ startedAt: "desc" }, { id: "desc" }],
      take: f.limit + 1,
      select: {
        id: true,
        kind: true,
        loginId: true,
        loginName: true,
        customerId: true,
        remoteAddress: true,
        tls: true,
        domainsRequested: true,
        reply: true,
        messagesDelivered: true,
        recipientsDelivered: true,
        bytesDelivered: true,
        startedAt: true,
        endedAt: true,
        outcome: true,
        releaseFailed: true,
      },
    }),
  );
  const page = rows.slice(0, f.limit);
  const customerIds = [...new Set(page.map((s) => s.customerId).filter((id): id is string => id !== null))];
  const customers = customerIds.length
    ? await dbWork(() => getDb().customer.findMany({ where: { id: { in: customerIds } }, select: { id: true, name: true } }))
    : [];
  const names = new Map(customers.map((c) => [c.id, c.name]));
  const items = page.map((s) => ({
    ...s,
    bytesDelivered: Number(s.bytesDelivered),
    result: sessionResult(s),
    customerName: s.customerId ? (names.get(s.customerId) ?? null) : null,
  }));
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > f.limit && last ? `${last.startedAt.toISOString()}_${last.id}` : null };
}
