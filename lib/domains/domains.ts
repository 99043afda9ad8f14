// ATRN domains: each belongs to one customer, has a recipient policy, a retention, a size limit,
// an accepting switch and the ATRN/ETRN release settings.
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { customerScope, requireOperator } from "../actor.ts";
import { auditChanges } from "../audit/audit-changes.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { getCustomer } from "../customers/customers.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { HELD_WHERE } from "../queue/delivery-state.ts";
import { insertRecipients } from "../recipients/recipients.ts";
import { parseCidr } from "../validation/cidr.ts";
import { hostPortSchema } from "../validation/host-port.ts";
import { parseInput } from "../validation/parse-input.ts";
import { domainNameSchema, maxMessageSizeSchema, recipientDelimiterSchema, retentionDaysSchema, uuidSchema } from "../validation/schemas.ts";

const cidrSchema = z
  .string()
  .trim()
  .refine((v) => parseCidr(v) !== null, "must be an IP address or CIDR network");

const settingsSchema = z.object({
  recipientPolicy: z.enum(["listed", "accept_all"]).optional(),
  /** characters from "+-_=." that start an address extension; "" for none */
  recipientDelimiter: recipientDelimiterSchema
    .optional()
    .describe("characters from +-_=. that start an address extension (joe+news@ is taken for a listed joe@); empty: none"),
  retentionDays: retentionDaysSchema.optional(),
  maxMessageSize: maxMessageSizeSchema.optional(),
  acceptInbound: z.boolean().optional(),
  atrnEnabled: z.boolean().optional(),
  etrnEnabled: z.boolean().optional(),
  etrnTarget: hostPortSchema.nullable().optional(),
  etrnTls: z.enum(["opportunistic", "required", "none"]).optional(),
  etrnFrom: z.array(cidrSchema).optional(),
  /** bounce protection threshold in percent (lib/protection/bounce-protection.ts); null: off */
  bounceProtectionPercent: z.number().int().min(1, "must be 1-99 or off").max(99, "must be 1-99 or off").nullable().optional(),
});

export type DomainSettings = z.input<typeof settingsSchema>;

const createSchema = settingsSchema.extend({
  customer: z.string().min(1, "a customer is required"),
  name: domainNameSchema,
  recipients: z.array(z.string()).optional(),
});

function checkEtrn(settings: { etrnEnabled?: boolean; etrnTarget?: string | null }) {
  if (settings.etrnEnabled && !settings.etrnTarget) {
    throw new MailharborError("INVALID_INPUT", "etrnTarget: ETRN needs a delivery target (HOST:PORT)", { field: "etrnTarget" });
  }
}

export async function createDomain(actor: Actor, input: z.input<typeof createSchema>) {
  requireOperator(actor);
  const { customer: customerRef, name, recipients, ...settings } = parseInput(createSchema, input);
  checkEtrn(settings);
  const customer = await getCustomer(actor, customerRef);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      if (await tx.domain.findUnique({ where: { name } })) throw new MailharborError("CONFLICT", `domain "${name}" is already hosted`);
      const domain = await tx.domain.create({ data: { name, customerId: customer.id, ...settings } });
      const report = recipients?.length ? await insertRecipients(tx, domain, recipients) : { added: [], rejected: [] };
      // a domain goes live with the list it was given or not at all: with a line missing, the MX
      // would refuse that recipient's mail for good (550 5.1.1), so nothing is created
      if (report.rejected.length) {
        const n = report.rejected.length;
        const lines = report.rejected
          .slice(0, 5)
          .map((r) => `line ${r.line} "${r.input}": ${r.reason}`)
          .join("; ");
        throw new MailharborError(
          "INVALID_INPUT",
          `recipients: the domain was not created: ${n} recipient line${n === 1 ? " is" : "s are"} not valid (${lines}${n > 5 ? "; …" : ""}); correct or remove ${n === 1 ? "it" : "them"} and add the domain again`,
          { field: "recipients", rejected: report.rejected },
        );
      }
      await recordAuditEvent(tx, actor, {
        action: "domain.create",
        objectType: "domain",
        objectId: domain.id,
        customerId: customer.id,
        details: { name, ...settings, recipients: report.added.length },
      });
      return domain;
    }),
  );
}

/** A domain by id or name, within the actor's reach; NOT_FOUND otherwise. */
export async function getDomain(actor: Actor, ref: string) {
  const scope = customerScope(actor);
  const match = uuidSchema.safeParse(ref).success ? { id: ref } : { name: ref.trim().toLowerCase() };
  const domain = await dbWork(() =>
    getDb().domain.findFirst({
      where: { ...match, ...scope },
      include: { customer: { select: { id: true, name: true, status: true } } },
    }),
  );
  if (!domain) throw new MailharborError("NOT_FOUND", `no domain "${ref}"`);
  return domain;
}

/**
 * Domains within reach, each with its count of held deliveries. `heldCounts: false` skips the
 * counting (held is then 0) for pickers that need only the names: a big customer's count reads
 * every one of its held rows.
 */
export async function listDomains(actor: Actor, options: { customerId?: string; heldCounts?: boolean } = {}) {
  const scope = customerScope(actor);
  return dbWork(async () => {
    const domains = await getDb().domain.findMany({
      where: { AND: [options.customerId ? { customerId: options.customerId } : {}, scope] },
      orderBy: { name: "asc" },
      include: { customer: { select: { id: true, name: true, status: true } }, _count: { select: { recipients: true } } },
    });
    if (options.heldCounts === false) return domains.map((d) => ({ ...d, held: 0 }));
    const held = await getDb().delivery.groupBy({
      by: ["domainId"],
      where: { domainId: { in: domains.map((d) => d.id) }, ...HELD_WHERE },
      _count: { _all: true },
    });
    const heldBy = new Map(held.map((h) => [h.domainId, h._count._all]));
    return domains.map((d) => ({ ...d, held: heldBy.get(d.id) ?? 0 }));
  });
}

export async function updateDomain(actor: Actor, ref: string, input: DomainSettings) {
  requireOperator(actor);
  const settings = parseInput(settingsSchema, input);
  const domain = await getDomain(actor, ref);
  checkEtrn({
    etrnEnabled: settings.etrnEnabled ?? domain.etrnEnabled,
    etrnTarget: settings.etrnTarget !== undefined ? settings.etrnTarget : domain.etrnTarget,
  });
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const changes = auditChanges(domain, settings);
      // nothing differs: no write and no audit row
      if (Object.keys(changes).length === 0) return tx.domain.findUniqueOrThrow({ where: { id: domain.id } });
      const updated = await tx.domain.update({ where: { id: domain.id }, data: settings });
      await recordAuditEvent(tx, actor, {
        action: "domain.update",
        objectType: "domain",
        objectId: domain.id,
        customerId: domain.customerId,
        details: { name: domain.name, changes },
      });
      return updated;
    }),
  );
}

export async function deleteDomain(actor: Actor, ref: string) {
  requireOperator(actor);
  const domain = await getDomain(actor, ref);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const held = await tx.delivery.count({ where: { domainId: domain.id, ...HELD_WHERE } });
      if (held > 0) throw new MailharborError("HAS_HELD_MAIL", `domain "${domain.name}" still has ${held} held deliveries`);
      await tx.delivery.deleteMany({ where: { domainId: domain.id } });
      await tx.domain.delete({ where: { id: domain.id } });
      await recordAuditEvent(tx, actor, {
        action: "domain.delete",
        objectType: "domain",
        objectId: domain.id,
        customerId: domain.customerId,
        details: { name: domain.name },
      });
      return { name: domain.name };
    }),
  );
}

/** The request shapes, shared with the HTTP API so it validates bodies by the same rules. */
export { createSchema as domainCreateSchema, settingsSchema as domainSettingsSchema };
