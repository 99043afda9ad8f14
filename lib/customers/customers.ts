// Customers: the ISP's clients. Only operators (staff, CLI) create or change them; a customer
// user can read only its own record.
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { customerScope, requireOperator } from "../actor.ts";
import { auditChanges } from "../audit/audit-changes.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { HELD_WHERE } from "../queue/delivery-state.ts";
import { parseInput } from "../validation/parse-input.ts";
import { customerNameSchema, emailSchema, uuidSchema } from "../validation/schemas.ts";

const createSchema = z.object({
  name: customerNameSchema,
  email: emailSchema.optional().nullable(),
});

export async function createCustomer(actor: Actor, input: { name: string; email?: string | null }) {
  requireOperator(actor);
  const data = parseInput(createSchema, input);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const existing = await tx.customer.findUnique({ where: { name: data.name } });
      if (existing) throw new MailharborError("CONFLICT", `a customer named "${data.name}" already exists`);
      const customer = await tx.customer.create({ data: { name: data.name, email: data.email ?? null } });
      await recordAuditEvent(tx, actor, {
        action: "customer.create",
        objectType: "customer",
        objectId: customer.id,
        customerId: customer.id,
        details: { name: customer.name },
      });
      return customer;
    }),
  );
}

/** A customer by id or exact name, within the actor's reach; NOT_FOUND otherwise. */
export async function getCustomer(actor: Actor, ref: string) {
  const scope = customerScope(actor);
  const match = uuidSchema.safeParse(ref).success ? { id: ref } : { name: ref };
  const customer = await dbWork(() =>
    getDb().customer.findFirst({
      where: { AND: [match, scope.customerId ? { id: scope.customerId } : {}] },
    }),
  );
  if (!customer) throw new MailharborError("NOT_FOUND", `no customer "${ref}"`);
  return customer;
}

export async function listCustomers(actor: Actor, options: { search?: string; take?: number; skip?: number } = {}) {
  requireOperator(actor);
  const search = options.search?.trim();
  const where = search
    ? { OR: [{ name: { contains: search, mode: "insensitive" as const } }, { email: { contains: search, mode: "insensitive" as const } }] }
    : {};
  return dbWork(async () => {
    const [total, items] = await Promise.all([
      getDb().customer.count({ where }),
      getDb().customer.findMany({
        where,
        orderBy: { name: "asc" },
        take: Math.min(options.take ?? 100, 500),
        skip: options.skip ?? 0,
        include: { _count: { select: { domains: true, logins: true } } },
      }),
    ]);
    return { total, items };
  });
}

const updateSchema = z.object({
  name: customerNameSchema.optional(),
  email: emailSchema.optional().nullable(),
});

export async function updateCustomer(actor: Actor, id: string, input: { name?: string; email?: string | null }) {
  requireOperator(actor);
  const data = parseInput(updateSchema, input);
  const customer = await getCustomer(actor, id);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      if (data.name && data.name !== customer.name && (await tx.customer.findUnique({ where: { name: data.name } }))) {
        throw new MailharborError("CONFLICT", `a customer named "${data.name}" already exists`);
      }
      const changes = auditChanges(customer, data);
      if (Object.keys(changes).length === 0) return customer;
      const updated = await tx.customer.update({ where: { id: customer.id }, data });
      await recordAuditEvent(tx, actor, {
        action: "customer.update",
        objectType: "customer",
        objectId: customer.id,
        customerId: customer.id,
        details: { name: updated.name, changes },
      });
      return updated;
    }),
  );
}

/** Suspension refuses the customer's ATRN and defers its inbound mail (450); resuming undoes both. */
export async function setCustomerStatus(actor: Actor, id: string, status: "active" | "suspended") {
  requireOperator(actor);
  if (status !== "active" && status !== "suspended") throw new MailharborError("INVALID_INPUT", "status must be active or suspended");
  const customer = await getCustomer(actor, id);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const updated = await tx.customer.update({ where: { id: customer.id }, data: { status } });
      await recordAuditEvent(tx, actor, {
        action: status === "suspended" ? "customer.suspend" : "customer.resume",
        objectType: "customer",
        objectId: customer.id,
        customerId: customer.id,
      });
      return updated;
    }),
  );
}

/** Deletes a customer with everything it owns, but only when none of its mail is held. */
export async function deleteCustomer(actor: Actor, id: string) {
  requireOperator(actor);
  const customer = await getCustomer(actor, id);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const held = await tx.delivery.count({ where: { customerId: customer.id, ...HELD_WHERE } });
      if (held > 0) throw new MailharborError("HAS_HELD_MAIL", `customer "${customer.name}" still has ${held} held deliveries`);
      await tx.delivery.deleteMany({ where: { customerId: customer.id } });
      await tx.domain.deleteMany({ where: { customerId: customer.id } });
      await tx.customer.delete({ where: { id: customer.id } });
      await recordAuditEvent(tx, actor, {
        action: "customer.delete",
        objectType: "customer",
        objectId: customer.id,
        customerId: null,
        details: { name: customer.name },
      });
      return { name: customer.name };
    }),
  );
}

/** The request shapes, shared with the HTTP API so it validates bodies by the same rules. */
export { createSchema as customerCreateSchema };
