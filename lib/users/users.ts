// Portal users: ISP staff, and customers' administrators (bound to one customer).
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { generateSecret } from "../auth/generate-secret.ts";
import { hashPassword, verifyAgainstNothing, verifyPassword } from "../auth/password.ts";
import { portalThrottle } from "../auth/portal-throttle.ts";
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

/** Creates a portal user; returns the password (generated when none is given), shown once. */
export async function createPortalUser(actor: Actor, input: z.input<typeof createSchema>) {
  requireOperator(actor);
  const data = parseInput(createSchema, input);
  if (data.role === "customer" && !data.customer) throw new MailharborError("INVALID_INPUT", "customer: a customer user needs a customer", { field: "customer" });
  if (data.role === "staff" && data.customer) throw new MailharborError("INVALID_INPUT", "customer: staff users belong to no customer", { field: "customer" });
  const customer = data.customer ? await getCustomer(actor, data.customer) : null;
  const password = data.password ?? generateSecret(16);
  const passwordHash = await hashPassword(password);
  const user = await dbWork(() => getDb().$transaction(async (tx) => {
    if (await tx.portalUser.findUnique({ where: { email: data.email } })) throw new MailharborError("CONFLICT", `a user ${data.email} already exists`);
    const created = await tx.portalUser.create({ data: { email: data.email, role: data.role, customerId: customer?.id ?? null, passwordHash } });
    await recordAuditEvent(tx, actor, { action: "user.create", objectType: "portal_user", objectId: created.id, customerId: customer?.id ?? null, details: { email: created.email, role: created.role } });
    return created;
  }));
  return { user, password };
}

export async function listPortalUsers(actor: Actor, options: { customerId?: string } = {}) {
  requireOperator(actor);
  return dbWork(() => getDb().portalUser.findMany({
    where: options.customerId ? { customerId: options.customerId } : {},
    orderBy: { email: "asc" },
    include: { customer: { select: { id: true, name: true } } },
  }));
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
}

/** Checks a portal login. Unknown users cost the same time as wrong passwords. */
export async function verifyPortalLogin(email: string, password: string): Promise<PortalIdentity | null> {
  const normalized = String(email ?? "").trim().toLowerCase();
  const user = await dbWork(() => getDb().portalUser.findUnique({
    where: { email: normalized },
    select: { id: true, email: true, role: true, customerId: true, disabled: true, passwordHash: true, sessionVersion: true, customer: { select: { status: true } } },
  }));
  if (!user || user.disabled) return verifyAgainstNothing(String(password ?? "")).then(() => null);
  if (!(await verifyPassword(user.passwordHash, String(password ?? "")))) return null;
  await dbWork(() => getDb().portalUser.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } }));
  return { id: user.id, email: user.email, role: user.role, customerId: user.customerId, sessionVersion: user.sessionVersion };
}

/**
 * A user changes its own password, proving the current one from `address` (the client's). The
 * proof is throttled with the sign-in (portal-throttle.ts): past the free failures each answer
 * waits longer, and an address with too many failures gets THROTTLED. The change raises the
 * user's session version, which ends every portal session signed in before it (this one too).
 */
export async function changeOwnPassword(actor: Actor, current: string, next: string, address: string) {
  if (actor.type !== "staff" && actor.type !== "customer") throw new MailharborError("FORBIDDEN", "only portal users have passwords");
  const password = parseInput(passwordSchema, next);
  const user = await dbWork(() => getDb().portalUser.findUnique({ where: { id: actor.id }, select: { id: true, email: true, passwordHash: true, customerId: true } }));
  if (!user) throw new MailharborError("NOT_FOUND", "no such user");
  const attempt = portalThrottle().begin(address, user.email);
  if (!attempt) throw new MailharborError("THROTTLED", "too many wrong passwords from this address; try again later");
  let outcome: "success" | "failure" | "unchecked" = "unchecked";
  try {
    // before the answer, whatever it will be, so its length tells nothing
    if (attempt.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, attempt.delayMs));
    if (!(await verifyPassword(user.passwordHash, current))) {
      outcome = "failure";
      throw new MailharborError("AUTH_FAILED", "the current password is wrong");
    }
    outcome = "success";
  } finally {
    attempt.settle(outcome);
  }
  const passwordHash = await hashPassword(password);
  await dbWork(() => getDb().$transaction(async (tx) => {
    await tx.portalUser.update({ where: { id: user.id }, data: { passwordHash, sessionVersion: { increment: 1 } } });
    await recordAuditEvent(tx, actor, { action: "user.password", objectType: "portal_user", objectId: user.id, customerId: user.customerId });
  }));
}

/** Disables (or enables again) a portal user; a disabled user's session ends at its next request. */
export async function setPortalUserDisabled(actor: Actor, id: string, disabled: boolean) {
  requireOperator(actor);
  if (actor.type === "staff" && actor.id === id) throw new MailharborError("INVALID_INPUT", "you cannot disable yourself");
  const user = await dbWork(() => getDb().portalUser.findUnique({ where: { id: String(id) }, select: { id: true, email: true, customerId: true } }));
  if (!user) throw new MailharborError("NOT_FOUND", "no such user");
  await dbWork(() => getDb().$transaction(async (tx) => {
    await tx.portalUser.update({ where: { id: user.id }, data: { disabled } });
    await recordAuditEvent(tx, actor, { action: disabled ? "user.disable" : "user.enable", objectType: "portal_user", objectId: user.id, customerId: user.customerId, details: { email: user.email } });
  }));
}
