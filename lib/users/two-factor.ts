// Two-factor sign-in for portal users: TOTP (RFC 6238, lib/auth/totp.ts) with one-use recovery
// codes. The secret is sealed under the server key (lib/auth/secret-box.ts), recovery codes are
// kept as argon2id hashes and shown once. Enrolment is two steps: a secret is set aside and shown
// (QR code and base32), and becomes active only when a first code from it is given. Every code
// check goes through the portal throttle (lib/auth/portal-throttle.ts), and a code is never
// accepted twice (the last accepted time step is kept, RFC 6238 §5.2).
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { generateSecret } from "../auth/generate-secret.ts";
import { hashPassword, verifyPassword } from "../auth/password.ts";
import { throttledCheck } from "../auth/portal-throttle.ts";
import { decryptSecret, encryptSecret, getServerKey } from "../auth/secret-box.ts";
import { generateTotpSecret, matchTotpStep, totpUri } from "../auth/totp.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { findPortalUser } from "./users.ts";

export const RECOVERY_CODE_COUNT = 10;
export const TOTP_ISSUER = "Mailharbor";

type PortalActor = Extract<Actor, { type: "staff" | "customer" }>;

function ownUser(actor: Actor): PortalActor {
  if (actor.type !== "staff" && actor.type !== "customer") throw new MailharborError("FORBIDDEN", "only portal users have two-factor sign-in");
  return actor;
}

const USER_SELECT = { id: true, email: true, customerId: true, passwordHash: true, totpSecretEnc: true, totpEnabledAt: true, totpLastStep: true } as const;

async function loadUser(id: string) {
  const user = await dbWork(() => getDb().portalUser.findUnique({ where: { id }, select: USER_SELECT }));
  if (!user) throw new MailharborError("NOT_FOUND", "no such user");
  return user;
}

/** "XXXX-XXXX-XXXX": typed from paper, so grouped; compared without dashes or spaces. */
function newRecoveryCode(): string {
  return generateSecret(12).replace(/(.{4})(?=.)/g, "$1-");
}

function normalizeRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, "");
}

/** What the account page shows: active or not, and while enrolling the secret to scan. */
export async function getTwoFactorStatus(actor: Actor) {
  const user = await loadUser(ownUser(actor).id);
  const recoveryCodesLeft = await dbWork(() => getDb().portalRecoveryCode.count({ where: { userId: user.id, usedAt: null } }));
  if (user.totpEnabledAt) return { state: "enabled" as const, enabledAt: user.totpEnabledAt, recoveryCodesLeft };
  if (user.totpSecretEnc) {
    const secret = decryptSecret(user.totpSecretEnc, getServerKey());
    return { state: "enrolling" as const, secret, uri: totpUri(secret, user.email, TOTP_ISSUER) };
  }
  return { state: "off" as const };
}

/** Sets a new secret aside for the user (not active yet); a second start replaces the first. */
export async function startTwoFactorEnrolment(actor: Actor): Promise<void> {
  const user = await loadUser(ownUser(actor).id);
  if (user.totpEnabledAt) throw new MailharborError("CONFLICT", "two-factor sign-in is already on");
  await dbWork(() =>
    getDb().portalUser.update({
      where: { id: user.id },
      data: { totpSecretEnc: encryptSecret(generateTotpSecret(), getServerKey()), totpLastStep: null },
    }),
  );
}

/**
 * Accepts `code` if it is the user's TOTP code of now (±1 step) and its step is later than the last
 * accepted one; the step is recorded in the same statement, so two requests with one code cannot
 * both pass.
 */
async function acceptTotpCode(user: { id: string; totpSecretEnc: string | null }, code: string, nowMs = Date.now()): Promise<boolean> {
  if (!user.totpSecretEnc) return false;
  const step = matchTotpStep(decryptSecret(user.totpSecretEnc, getServerKey()), code, nowMs);
  if (step === null) return false;
  const { count } = await dbWork(() =>
    getDb().portalUser.updateMany({
      where: { id: user.id, OR: [{ totpLastStep: null }, { totpLastStep: { lt: step } }] },
      data: { totpLastStep: step },
    }),
  );
  return count === 1;
}

/** Uses up one unused recovery code of the user, if `code` is one. */
async function acceptRecoveryCode(userId: string, code: string): Promise<boolean> {
  const given = normalizeRecoveryCode(code);
  if (!given) return false;
  const unused = await dbWork(() => getDb().portalRecoveryCode.findMany({ where: { userId, usedAt: null }, select: { id: true, codeHash: true } }));
  for (const candidate of unused) {
    if (await verifyPassword(candidate.codeHash, given)) {
      // only the request that marks it used may use it
      const { count } = await dbWork(() => getDb().portalRecoveryCode.updateMany({ where: { id: candidate.id, usedAt: null }, data: { usedAt: new Date() } }));
      return count === 1;
    }
  }
  return false;
}

/**
 * Activates the set-aside secret with a first code from it, from `address` (throttled). Returns
 * the recovery codes, shown this once; only their hashes are kept.
 */
export async function confirmTwoFactorEnrolment(actor: Actor, code: string, address: string): Promise<string[]> {
  const me = ownUser(actor);
  const user = await loadUser(me.id);
  if (user.totpEnabledAt) throw new MailharborError("CONFLICT", "two-factor sign-in is already on");
  if (!user.totpSecretEnc) throw new MailharborError("INVALID_INPUT", "start the set-up first");
  if (!(await throttledCheck(address, user.email, "code", () => acceptTotpCode(user, code)))) {
    throw new MailharborError("INVALID_INPUT", "code: that code is not right; check the time on your phone and try the current one", { field: "code" });
  }
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const hashes = await Promise.all(codes.map((c) => hashPassword(normalizeRecoveryCode(c))));
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      await tx.portalUser.update({ where: { id: user.id }, data: { totpEnabledAt: new Date() } });
      await tx.portalRecoveryCode.deleteMany({ where: { userId: user.id } });
      await tx.portalRecoveryCode.createMany({ data: hashes.map((codeHash) => ({ userId: user.id, codeHash })) });
      await recordAuditEvent(tx, me, { action: "user.2fa_enable", objectType: "portal_user", objectId: user.id, customerId: user.customerId });
    }),
  );
  return codes;
}

async function clearTwoFactor(actor: Actor, user: { id: string; email: string; customerId: string | null }, action: string): Promise<void> {
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      await tx.portalUser.update({ where: { id: user.id }, data: { totpSecretEnc: null, totpEnabledAt: null, totpLastStep: null } });
      await tx.portalRecoveryCode.deleteMany({ where: { userId: user.id } });
      await recordAuditEvent(tx, actor, { action, objectType: "portal_user", objectId: user.id, customerId: user.customerId, details: { email: user.email } });
    }),
  );
}

/** The user turns two-factor sign-in off, proving it with a current code or the password (throttled). */
export async function disableTwoFactor(actor: Actor, proof: string, address: string): Promise<void> {
  const me = ownUser(actor);
  const user = await loadUser(me.id);
  if (!user.totpEnabledAt) throw new MailharborError("CONFLICT", "two-factor sign-in is not on");
  const isCode = /^\s*\d{3}\s?\d{3}\s*$/.test(proof);
  const ok = await throttledCheck(address, user.email, isCode ? "code" : "password", () =>
    isCode ? acceptTotpCode(user, proof) : verifyPassword(user.passwordHash, proof),
  );
  if (!ok) throw new MailharborError("INVALID_INPUT", "proof: that is neither a current code nor your password", { field: "proof" });
  await clearTwoFactor(me, user, "user.2fa_disable");
}

/** Staff turn a user's two-factor sign-in off (a lost phone); the user may enrol again. */
export async function resetTwoFactor(actor: Actor, ref: string): Promise<void> {
  requireOperator(actor);
  const user = await findPortalUser(ref);
  const { totpSecretEnc } = await loadUser(user.id);
  if (!totpSecretEnc) throw new MailharborError("CONFLICT", "two-factor sign-in is not on for this user");
  await clearTwoFactor(actor, user, "user.2fa_reset");
}

/**
 * The second factor at sign-in, for a user whose password was right: a TOTP code (6 digits) or a
 * recovery code, throttled per address and, for codes, per account. A recovery code used is
 * recorded in the audit log, as the user should make new ones.
 */
export async function verifySecondFactor(
  identity: { id: string; email: string; role: "staff" | "customer"; customerId: string | null },
  code: string,
  address: string,
): Promise<boolean> {
  const user = await loadUser(identity.id);
  if (!user.totpEnabledAt) return false;
  let usedRecoveryCode = false;
  const ok = await throttledCheck(address, user.email, "code", async () => {
    if (/^\s*\d{3}\s?\d{3}\s*$/.test(code)) return acceptTotpCode(user, code);
    usedRecoveryCode = await acceptRecoveryCode(user.id, code);
    return usedRecoveryCode;
  });
  if (ok && usedRecoveryCode) {
    const actor: Actor =
      identity.role === "staff"
        ? { type: "staff", id: identity.id, label: identity.email }
        : { type: "customer", id: identity.id, label: identity.email, customerId: identity.customerId ?? "" };
    await dbWork(() =>
      getDb().$transaction((tx) =>
        recordAuditEvent(tx, actor, {
          action: "user.recovery_code_used",
          objectType: "portal_user",
          objectId: user.id,
          customerId: user.customerId,
        }),
      ),
    );
  }
  return ok;
}
