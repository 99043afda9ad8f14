// Portal users: ISP staff, and customers' administrators (bound to one customer).
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { generateSecret } from "../auth/generate-secret.ts";
import { hashPassword, verifyAgainstNothing, verifyPassword } from "../auth/password.ts";
import { throttledCheck } from "../auth/portal-throttle.ts";
import { getCustomer } from "../customers/customers.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { parseInput } from "../validation/parse-input.ts";
import { emailSchema, passwordSchema } from "../validation/schemas.ts";

const createSchema = z.object({
  email: emailSchema,
  role: z.enum(["staff", "customer"], { message: "role must be staff or customer" }),
  customer: z.string().optional(),
  password: passwordSchema.optional(),
});

/**
 * Creates a portal user; returns the password, shown once. A generated password (none given: the
 * portal's form, `mailharbor user add` without --password, the first start) is one-time: the user
 * must change it before anything else. A password given here was chosen by the operator who runs the
 * CLI (for themselves, or a test fixture) and must meet the policy, but is not one-time.
 */
export async function createPortalUser(actor: Actor, input: z.input<typeof createSchema>) {
  requireOperator(actor);
  const data = parseInput(createSchema, input);
  if (data.role === "customer" && !data.customer)
    throw new MailharborError("INVALID_INPUT", "customer: a customer user needs a customer", { field: "customer" });
  if (data.role === "staff" && data.customer) throw new MailharborError("INVALID_INPUT", "customer: staff users belong to no customer", { field: "customer" });
  const customer = data.customer ? await getCustomer(actor, data.customer) : null;
  const password = data.password ?? generateSecret(16);
  const passwordHash = await hashPassword(password);
  const user = await dbWork(() =>
    getDb().$transaction(async (tx) => {
      if (await tx.portalUser.findUnique({ where: { email: data.email } })) throw new MailharborError("CONFLICT", `a user ${data.email} already exists`);
      const created = await tx.portalUser.create({
        data: { email: data.email, role: data.role, customerId: customer?.id ?? null, passwordHash, mustChangePassword: data.password === undefined },
      });
      await recordAuditEvent(tx, actor, {
        action: "user.create",
        objectType: "portal_user",
        objectId: created.id,
        customerId: customer?.id ?? null,
        details: { email: created.email, role: created.role },
      });
      return created;
    }),
  );
  return { user, password };
}

export async function listPortalUsers(actor: Actor, options: { customerId?: string } = {}) {
  requireOperator(actor);
  return dbWork(() =>
    getDb().portalUser.findMany({
      where: options.customerId ? { customerId: options.customerId } : {},
      orderBy: { email: "asc" },
      include: { customer: { select: { id: true, name: true } } },
    }),
  );
}

export async function countStaffUsers(): Promise<number> {
  return dbWork(() => getDb().portalUser.count({ where: { role: "staff" } }));
}

export interface PortalIdentity {
  id: string;
  email: string;
  role: "staff" | "customer";
  customerId: string | null;
  /** the session version a session signed in now carries (see changeOwnPassword) */
  sessionVersion: number;
  /** TOTP is active: the password alone does not sign in (lib/users/two-factor.ts) */
  twoFactor: boolean;
}

/** Checks a portal user's password (the first factor). Unknown users cost the same time as wrong passwords. */
export async function verifyPortalLogin(email: string, password: string): Promise<PortalIdentity | null> {
  const normalized = String(email ?? "")
    .trim()
    .toLowerCase();
  const user = await dbWork(() =>
    getDb().portalUser.findUnique({
      where: { email: normalized },
      select: { id: true, email: true, role: true, customerId: true, disabled: true, passwordHash: true, sessionVersion: true, totpEnabledAt: true },
    }),
  );
  if (!user || user.disabled) return verifyAgainstNothing(String(password ?? "")).then(() => null);
  if (!(await verifyPassword(user.passwordHash, String(password ?? "")))) return null;
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    customerId: user.customerId,
    sessionVersion: user.sessionVersion,
    twoFactor: user.totpEnabledAt !== null,
  };
}

/** Notes a completed sign-in (every factor checked). */
export async function recordPortalSignIn(id: string): Promise<void> {
  await dbWork(() => getDb().portalUser.update({ where: { id }, data: { lastLoginAt: new Date() } }));
}

/**
 * A user changes its own password, proving the current one from `address` (the client's). The
 * proof is throttled with the sign-in (portal-throttle.ts): past the free failures each answer
 * waits longer, and an address with too many failures gets THROTTLED. The change ends a one-time
 * password and raises the user's session version, which ends every portal session signed in before
 * it (this one too).
 */
export async function changeOwnPassword(actor: Actor, current: string, next: string, address: string) {
  if (actor.type !== "staff" && actor.type !== "customer") throw new MailharborError("FORBIDDEN", "only portal users have passwords");
  const password = parseInput(passwordSchema, next);
  const user = await dbWork(() =>
    getDb().portalUser.findUnique({ where: { id: actor.id }, select: { id: true, email: true, passwordHash: true, customerId: true } }),
  );
  if (!user) throw new MailharborError("NOT_FOUND", "no such user");
  if (!(await throttledCheck(address, user.email, "password", () => verifyPassword(user.passwordHash, current)))) {
    throw new MailharborError("AUTH_FAILED", "the current password is wrong");
  }
  if (password === current) throw new MailharborError("INVALID_INPUT", "next: the new password must differ from the current one", { field: "next" });
  const passwordHash = await hashPassword(password);
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      await tx.portalUser.update({ where: { id: user.id }, data: { passwordHash, mustChangePassword: false, sessionVersion: { increment: 1 } } });
      await recordAuditEvent(tx, actor, { action: "user.password", objectType: "portal_user", objectId: user.id, customerId: user.customerId });
    }),
  );
}

/** Disables (or enables again) a portal user; a disabled user's session ends at its next request. */
export async function setPortalUserDisabled(actor: Actor, id: string, disabled: boolean) {
  requireOperator(actor);
  if (actor.type === "staff" && actor.id === id) throw new MailharborError("INVALID_INPUT", "you cannot disable yourself");
  const user = await dbWork(() => getDb().portalUser.findUnique({ where: { id: String(id) }, select: { id: true, email: true, customerId: true } }));
  if (!user) throw new MailharborError("NOT_FOUND", "no such user");
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      await tx.portalUser.update({ where: { id: user.id }, data: { disabled } });
      await recordAuditEvent(tx, actor, {
        action: disabled ? "user.disable" : "user.enable",
        objectType: "portal_user",
        objectId: user.id,
        customerId: user.customerId,
        details: { email: user.email },
      });
    }),
  );
}

/** A portal user by id or e-mail address (NOT_FOUND otherwise); for operators' functions only. */
export async function findPortalUser(ref: string): Promise<{ id: string; email: string; customerId: string | null }> {
  const value = String(ref ?? "").trim();
  const where = value.includes("@") ? { email: value.toLowerCase() } : /^[0-9a-f-]{36}$/i.test(value) ? { id: value } : null;
  const user = where ? await dbWork(() => getDb().portalUser.findUnique({ where, select: { id: true, email: true, customerId: true } })) : null;
  if (!user) throw new MailharborError("NOT_FOUND", "no such user");
  return user;
}

/** One portal user for the staff pages, without any secret column. */
export async function getPortalUser(actor: Actor, id: string) {
  requireOperator(actor);
  const { id: userId } = await findPortalUser(id);
  return dbWork(() =>
    getDb().portalUser.findUniqueOrThrow({
      where: { id: userId },
      select: {
        id: true,
        email: true,
        role: true,
        disabled: true,
        createdAt: true,
        lastLoginAt: true,
        mustChangePassword: true,
        totpEnabledAt: true,
        customer: { select: { id: true, name: true } },
        _count: { select: { recoveryCodes: { where: { usedAt: null } } } },
      },
    }),
  );
}

/**
 * Staff give a user a new one-time password (generated, returned once): every session of the user
 * ends (the session version rises) and the user must change the password at the next sign-in. A
 * staff user changes their own password on their account page instead.
 */
export async function resetPortalUserPassword(actor: Actor, ref: string) {
  requireOperator(actor);
  const user = await findPortalUser(ref);
  if (actor.type === "staff" && actor.id === user.id) throw new MailharborError("INVALID_INPUT", "change your own password under Your account");
  const password = generateSecret(16);
  const passwordHash = await hashPassword(password);
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      await tx.portalUser.update({ where: { id: user.id }, data: { passwordHash, mustChangePassword: true, sessionVersion: { increment: 1 } } });
      await recordAuditEvent(tx, actor, {
        action: "user.password_reset",
        objectType: "portal_user",
        objectId: user.id,
        customerId: user.customerId,
        details: { email: user.email },
      });
    }),
  );
  return { user, password };
}
