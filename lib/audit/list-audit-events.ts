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
  action: z
    .string()
    .trim()
    .regex(/^[a-z_]+(\.[a-z_]+)?$/, "an action such as login or login.rotate")
    .optional(),
  objectType: z
    .string()
    .trim()
    .regex(/^[a-z_]+$/, "an object type such as domain")
    .optional(),
  objectId: z.string().trim().min(1).max(64).optional(),
  customerId: uuidSchema.optional(),
  before: z
    .string()
    .regex(/^\d{1,19}$/, "not a page cursor")
    .optional(),
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
  const page = rows.slice(0, f.limit);
  const names = await currentNames(page);
  const items = page.map((e) => ({
    ...e,
    id: String(e.id),
    /** what the object is called now, or (deleted since) what the event recorded */
    objectName: (e.objectId ? names.get(`${e.objectType}:${e.objectId}`) : undefined) ?? recordedName(e.details),
    customerName: e.customerId ? (names.get(`customer:${e.customerId}`) ?? null) : null,
  }));
  return { items, nextCursor: rows.length > f.limit ? items[items.length - 1].id : null };
}

/** The name an event's details give its object: the name, login, e-mail or domain it recorded. */
function recordedName(details: Prisma.JsonValue): string | null {
  if (!details || typeof details !== "object" || Array.isArray(details)) return null;
  for (const key of ["name", "login", "email", "domain"]) {
    const value = (details as Record<string, unknown>)[key];
    if (typeof value === "string" && value) return value;
  }
  return null;
}

/** Names of the objects and customers a page of events refers to, by "type:id", in one query per type. */
async function currentNames(events: { objectType: string; objectId: string | null; customerId: string | null }[]): Promise<Map<string, string>> {
  const ids = (type: string) => [
    ...new Set(events.filter((e) => e.objectType === type && e.objectId && uuidSchema.safeParse(e.objectId).success).map((e) => e.objectId!)),
  ];
  const customerIds = [...new Set([...ids("customer"), ...events.flatMap((e) => (e.customerId ? [e.customerId] : []))])];
  const db = getDb();
  const [customers, domains, logins, users, tokens] = await dbWork(() =>
    Promise.all([
      customerIds.length ? db.customer.findMany({ where: { id: { in: customerIds } }, select: { id: true, name: true } }) : [],
      ids("domain").length ? db.domain.findMany({ where: { id: { in: ids("domain") } }, select: { id: true, name: true } }) : [],
      ids("odmr_login").length ? db.odmrLogin.findMany({ where: { id: { in: ids("odmr_login") } }, select: { id: true, login: true } }) : [],
      ids("portal_user").length ? db.portalUser.findMany({ where: { id: { in: ids("portal_user") } }, select: { id: true, email: true } }) : [],
      ids("api_token").length ? db.apiToken.findMany({ where: { id: { in: ids("api_token") } }, select: { id: true, name: true } }) : [],
    ]),
  );
  return new Map([
    ...customers.map((c) => [`customer:${c.id}`, c.name] as const),
    ...domains.map((d) => [`domain:${d.id}`, d.name] as const),
    ...logins.map((l) => [`odmr_login:${l.id}`, l.login] as const),
    ...users.map((u) => [`portal_user:${u.id}`, u.email] as const),
    ...tokens.map((t) => [`api_token:${t.id}`, t.name] as const),
  ]);
}
