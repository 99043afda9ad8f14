// The audit trail as staff read it, newest first, filterable; keyset paging on the event id.
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { dbWork, getDb, type Prisma } from "../db/client.ts";
import { parseInput } from "../validation/parse-input.ts";
import { uuidSchema } from "../validation/schemas.ts";

export const AUDIT_ACTOR_TYPES = ["staff", "customer", "cli", "mailer"] as const;

const filterSchema = z.object({
  actorType: z.enum(AUDIT_ACTOR_TYPES).optional(),
  /** who: part of the actor's label (a user's e-mail, "cli" …) */
  actor: z.string().trim().min(1).max(320).optional(),
  /** an action or an action family: "login" matches login.create, login.rotate … */
  action: z.string().trim().regex(/^[a-z_]+(\.[a-z_]+)?$/, "an action such as login or login.rotate").optional(),
  objectType: z.string().trim().regex(/^[a-z_]+$/, "an object type such as domain").optional(),
  objectId: z.string().trim().min(1).max(64).optional(),
  customerId: uuidSchema.optional(),
  before: z.string().regex(/^\d{1,19}$/, "not a page cursor").optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export type AuditFilter = z.input<typeof filterSchema>;

export async function listAuditEvents(actor: Actor, filter: AuditFilter = {}) {
  requireOperator(actor);
  const f = parseInput(filterSchema, filter);
  const and: Prisma.AuditEventWhereInput[] = [];
  if (f.actorType) and.push({ actorType: f.actorType });
  if (f.actor) and.push({ actorLabel: { contains: f.actor, mode: "insensitive" } });
  if (f.action) and.push(f.action.includes(".") ? { action: f.action } : { action: { startsWith: `${f.action}.` } });
  if (f.objectType) and.push({ objectType: f.objectType });
  if (f.objectId) and.push({ objectId: f.objectId });
  if (f.customerId) and.push({ customerId: f.customerId });
  if (f.before) and.push({ id: { lt: BigInt(f.before) } });
  const rows = await dbWork(() => getDb().auditEvent.findMany({ where: { AND: and }, orderBy: { id: "desc" }, take: f.limit + 1 }));
  const items = rows.slice(0, f.limit).map((e) => ({ ...e, id: String(e.id) }));
  return { items, nextCursor: rows.length > f.limit ? items[items.length - 1].id : null };
}
