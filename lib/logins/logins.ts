// ODMR logins: the SASL identities customers' servers authenticate with. A secret is shown
// once, stored as an argon2id hash (PLAIN/LOGIN) and sealed with AES-256-GCM (CRAM-MD5).
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { customerScope, requireOperator } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { generateSecret } from "../auth/generate-secret.ts";
import { hashPassword } from "../auth/password.ts";
import { encryptSecret, getServerKey } from "../auth/secret-box.ts";
import { getCustomer } from "../customers/customers.ts";
import { dbWork, getDb, type Tx } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { parseInput } from "../validation/parse-input.ts";
import { domainNameSchema, loginNameSchema, odmrSecretSchema, uuidSchema } from "../validation/schemas.ts";

async function sealSecret(secret: string) {
  return { passwordHash: await hashPassword(secret), secretEnc: encryptSecret(secret, getServerKey()) };
}

const createSchema = z.object({
  customer: z.string().min(1, "a customer is required"),
  login: loginNameSchema,
  secret: odmrSecretSchema.optional(),
});

/** Creates a login; returns the secret, which is never shown again. */
export async function createLogin(actor: Actor, input: { customer: string; login: string; secret?: string }) {
  requireOperator(actor);
  const data = parseInput(createSchema, input);
  const customer = await getCustomer(actor, data.customer);
  const secret = data.secret ?? generateSecret();
  const sealed = await sealSecret(secret);
  const login = await dbWork(() =>
    getDb().$transaction(async (tx) => {
      if (await tx.odmrLogin.findUnique({ where: { login: data.login } })) {
        throw new MailharborError("CONFLICT", `login "${data.login}" is taken`);
      }
      const created = await tx.odmrLogin.create({
        data: { login: data.login, customerId: customer.id, secrets: { create: sealed } },
      });
      await recordAuditEvent(tx, actor, {
        action: "login.create",
        objectType: "odmr_login",
        objectId: created.id,
        customerId: customer.id,
        details: { login: created.login },
      });
      return created;
    }),
  );
  return { login, secret };
}

/** A login by id or name, within the actor's reach; NOT_FOUND otherwise. */
export async function getLogin(actor: Actor, ref: string) {
  const scope = customerScope(actor);
  const match = uuidSchema.safeParse(ref).success ? { id: ref } : { login: ref };
  const login = await dbWork(() =>
    getDb().odmrLogin.findFirst({
      where: { ...match, ...scope },
      include: {
        domains: { select: { domain: { select: { id: true, name: true } } } },
        secrets: { select: { id: true, createdAt: true, expiresAt: true }, orderBy: { createdAt: "desc" } },
        customer: { select: { id: true, name: true, status: true } },
      },
    }),
  );
  if (!login) throw new MailharborError("NOT_FOUND", `no login "${ref}"`);
  return login;
}

export async function listLogins(actor: Actor, options: { customerId?: string } = {}) {
  const scope = customerScope(actor);
  return dbWork(() =>
    getDb().odmrLogin.findMany({
      where: { AND: [options.customerId ? { customerId: options.customerId } : {}, scope] },
      orderBy: { login: "asc" },
      include: {
        customer: { select: { id: true, name: true } },
        domains: { select: { domain: { select: { id: true, name: true } } } },
        secrets: { select: { id: true, createdAt: true, expiresAt: true }, orderBy: { createdAt: "desc" } },
      },
    }),
  );
}

const rotateSchema = z.object({
  keepOldHours: z.coerce
    .number()
    .min(0, "keep-old-hours must be 0 or more")
    .max(24 * 90, "at most 2160 hours"),
  secret: odmrSecretSchema.optional(),
});

/**
 * Issues a new secret. Secrets that were valid keep working for `keepOldHours` more (0: they stop
 * now), so a customer can update its server without a gap. Customers may rotate their own logins.
 */
export async function rotateLogin(actor: Actor, ref: string, input: { keepOldHours?: number; secret?: string } = {}) {
  const data = parseInput(rotateSchema, { keepOldHours: input.keepOldHours ?? 24, secret: input.secret });
  const login = await getLogin(actor, ref);
  const secret = data.secret ?? generateSecret();
  const sealed = await sealSecret(secret);
  const oldExpiry = new Date(Date.now() + data.keepOldHours * 3600_000);
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      const now = new Date();
      await tx.odmrSecret.updateMany({
        where: { loginId: login.id, OR: [{ expiresAt: null }, { expiresAt: { gt: oldExpiry } }] },
        data: { expiresAt: oldExpiry },
      });
      // secrets already expired are of no further use
      await tx.odmrSecret.deleteMany({ where: { loginId: login.id, expiresAt: { lte: now } } });
      await tx.odmrSecret.create({ data: { loginId: login.id, ...sealed } });
      await recordAuditEvent(tx, actor, {
        action: "login.rotate",
        objectType: "odmr_login",
        objectId: login.id,
        customerId: login.customerId,
        details: { login: login.login, oldSecretsExpireAt: oldExpiry.toISOString() },
      });
    }),
  );
  return { login: login.login, secret, oldSecretsExpireAt: oldExpiry };
}

export async function setLoginStatus(actor: Actor, ref: string, status: "active" | "disabled") {
  requireOperator(actor);
  if (status !== "active" && status !== "disabled") throw new MailharborError("INVALID_INPUT", "status must be active or disabled");
  const login = await getLogin(actor, ref);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const updated = await tx.odmrLogin.update({ where: { id: login.id }, data: { status } });
      await recordAuditEvent(tx, actor, {
        action: status === "disabled" ? "login.disable" : "login.enable",
        objectType: "odmr_login",
        objectId: login.id,
        customerId: login.customerId,
        details: { login: login.login },
      });
      return updated;
    }),
  );
}

/** Restricts a login to some of its customer's domains; `null` lets it collect all of them. */
export async function restrictLogin(actor: Actor, ref: string, domainNames: string[] | null) {
  requireOperator(actor);
  const login = await getLogin(actor, ref);
  const names = domainNames === null ? null : domainNames.map((n) => parseInput(domainNameSchema, n));
  return dbWork(() =>
    getDb().$transaction(async (tx: Tx) => {
      let domainIds: string[] = [];
      if (names) {
        const domains = await tx.domain.findMany({ where: { name: { in: names }, customerId: login.customerId }, select: { id: true, name: true } });
        const missing = names.filter((n) => !domains.some((d) => d.name === n));
        if (missing.length) throw new MailharborError("NOT_FOUND", `not a domain of this customer: ${missing.join(", ")}`);
        domainIds = domains.map((d) => d.id);
      }
      await tx.loginDomain.deleteMany({ where: { loginId: login.id } });
      if (domainIds.length) await tx.loginDomain.createMany({ data: domainIds.map((domainId) => ({ loginId: login.id, domainId })) });
      await tx.odmrLogin.update({ where: { id: login.id }, data: { allDomains: names === null } });
      await recordAuditEvent(tx, actor, {
        action: "login.restrict",
        objectType: "odmr_login",
        objectId: login.id,
        customerId: login.customerId,
        details: { login: login.login, domains: names },
      });
    }),
  );
}

/** The request shapes, shared with the HTTP API so it validates bodies by the same rules. */
export { createSchema as loginCreateSchema, rotateSchema as loginRotateSchema };
