// Account security in the core and the CLI, against a real database: one-time passwords (generated
// ones must be changed, a chosen one meets the policy), staff resets by CLI, two-factor enrolment,
// a TOTP code accepted once, recovery codes used once, and customers refused every operator step.
import { describe, expect, it } from "vitest";
import { CLI_ACTOR, type Actor } from "../../lib/actor.ts";
import { totpCode } from "../../lib/auth/totp.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { confirmTwoFactorEnrolment, getTwoFactorStatus, resetTwoFactor, startTwoFactorEnrolment, verifySecondFactor } from "../../lib/users/two-factor.ts";
import { changeOwnPassword, createPortalUser, getPortalUser, resetPortalUserPassword, verifyPortalLogin } from "../../lib/users/users.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";

useTestDatabase();
// no waiting between failures here: the lock, not the delay, is what these tests look at
process.env.AUTH_DELAY_STEP_MS = "0";

describe("one-time passwords and resets", () => {
  it("a generated password is one-time, a chosen one is not and must meet the policy", async () => {
    const generated = await runCli(["user", "add", "--email", "new@isp.example", "--role", "staff", "--json"]);
    expect(generated.code).toBe(0);
    const chosen = await runCli(["user", "add", "--email", "ops@isp.example", "--role", "staff", "--password", "staff-password-1", "--json"]);
    expect(chosen.code).toBe(0);
    const rows = await getDb().portalUser.findMany({ orderBy: { email: "asc" }, select: { email: true, mustChangePassword: true } });
    expect(rows).toEqual([
      { email: "new@isp.example", mustChangePassword: true },
      { email: "ops@isp.example", mustChangePassword: false },
    ]);

    const common = await runCli(["user", "add", "--email", "weak@isp.example", "--role", "staff", "--password", "Password1234", "--json"]);
    expect(common.code).toBe(2);
    expect(common.json.error.message).toMatch(/most common passwords/);
    const short = await runCli(["user", "add", "--email", "weak@isp.example", "--role", "staff", "--password", "abc12345", "--json"]);
    expect(short.code).toBe(2);
    expect(short.json.error.message).toMatch(/at least 10 characters/);
    expect(await getDb().portalUser.count({ where: { email: "weak@isp.example" } })).toBe(0);
  }, 300_000);

  it("mailharbor user reset-password sets a new one-time password, ends sessions and writes an audit row", async () => {
    const before = await getDb().portalUser.findUniqueOrThrow({ where: { email: "ops@isp.example" } });
    const reset = await runCli(["user", "reset-password", "--email", "OPS@isp.example", "--json"]);
    expect(reset.code).toBe(0);
    expect(reset.json.password).toHaveLength(16);
    const after = await getDb().portalUser.findUniqueOrThrow({ where: { email: "ops@isp.example" } });
    expect(after.mustChangePassword).toBe(true);
    expect(after.sessionVersion).toBe(before.sessionVersion + 1);
    expect(await verifyPortalLogin("ops@isp.example", "staff-password-1")).toBeNull();
    expect(await verifyPortalLogin("ops@isp.example", reset.json.password)).toMatchObject({ id: before.id });
    const audit = await getDb().auditEvent.findFirstOrThrow({ where: { objectId: before.id, action: "user.password_reset" } });
    expect(audit.actorType).toBe("cli");

    // changing it ends the one-time state; the same password again, or a common one, is refused
    const me: Actor = { type: "staff", id: before.id, label: before.email };
    await expect(changeOwnPassword(me, reset.json.password, reset.json.password, "192.0.2.1")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(changeOwnPassword(me, reset.json.password, "qwertyuiop", "192.0.2.1")).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(/most common/),
    });
    await changeOwnPassword(me, reset.json.password, "my-own-password-7", "192.0.2.1");
    expect((await getDb().portalUser.findUniqueOrThrow({ where: { id: before.id } })).mustChangePassword).toBe(false);

    const missing = await runCli(["user", "reset-password", "--email", "nobody@isp.example", "--json"]);
    expect(missing.code).toBe(3);
  }, 300_000);

  it("customers cannot reset anyone's password or two-factor sign-in, nor read a user; staff cannot reset their own", async () => {
    const a = await createCustomer(CLI_ACTOR, { name: "Alpha" });
    const b = await createCustomer(CLI_ACTOR, { name: "Beta" });
    const { user: userA } = await createPortalUser(CLI_ACTOR, {
      email: "admin@alpha.example",
      role: "customer",
      customer: a.id,
      password: "a-long-password-1",
    });
    const { user: userB } = await createPortalUser(CLI_ACTOR, { email: "admin@beta.example", role: "customer", customer: b.id, password: "a-long-password-1" });
    const actorB: Actor = { type: "customer", id: userB.id, label: userB.email, customerId: b.id };
    await expect(resetPortalUserPassword(actorB, userA.id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(resetTwoFactor(actorB, userA.id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(getPortalUser(actorB, userA.id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(await verifyPortalLogin("admin@alpha.example", "a-long-password-1")).not.toBeNull();
    const staff = await getDb().portalUser.findUniqueOrThrow({ where: { email: "ops@isp.example" } });
    await expect(resetPortalUserPassword({ type: "staff", id: staff.id, label: staff.email }, staff.id)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});

describe("two-factor sign-in", () => {
  it("enrols with a first code, accepts each code once, each recovery code once, and staff can reset it", async () => {
    const { user } = await createPortalUser(CLI_ACTOR, { email: "totp@isp.example", role: "staff", password: "totp-password-1" });
    const me: Actor = { type: "staff", id: user.id, label: user.email };
    const identity = { id: user.id, email: user.email, role: "staff" as const, customerId: null };
    await startTwoFactorEnrolment(me);
    const status = await getTwoFactorStatus(me);
    if (status.state !== "enrolling") throw new Error(`state ${status.state}`);
    // the secret is sealed in the database, not stored in clear
    const row = await getDb().portalUser.findUniqueOrThrow({ where: { id: user.id }, select: { totpSecretEnc: true } });
    expect(row.totpSecretEnc).toMatch(/^v1:/);
    expect(row.totpSecretEnc).not.toContain(status.secret);
    // not active before the confirmation
    expect((await verifyPortalLogin(user.email, "totp-password-1"))?.twoFactor).toBe(false);

    await expect(confirmTwoFactorEnrolment(me, "000000" === totpCode(status.secret, Date.now()) ? "111111" : "000000", "192.0.2.2")).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    const now = Date.now();
    const codes = await confirmTwoFactorEnrolment(me, totpCode(status.secret, now), "192.0.2.2");
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect((await verifyPortalLogin(user.email, "totp-password-1"))?.twoFactor).toBe(true);
    const stored = await getDb().portalRecoveryCode.findMany({ where: { userId: user.id }, select: { codeHash: true } });
    expect(stored.every((c) => c.codeHash.startsWith("$argon2id$") && !codes.some((code) => c.codeHash.includes(code)))).toBe(true);

    // the confirmation's code is used up; the next step's code works once
    expect(await verifySecondFactor(identity, totpCode(status.secret, now), "192.0.2.3")).toBe(false);
    const next = totpCode(status.secret, now + 30_000);
    expect(await verifySecondFactor(identity, next, "192.0.2.3")).toBe(true);
    expect(await verifySecondFactor(identity, next, "192.0.2.3")).toBe(false);
    // a recovery code works once, typed with or without its dashes
    expect(await verifySecondFactor(identity, codes[3].replace(/-/g, ""), "192.0.2.4")).toBe(true);
    expect(await verifySecondFactor(identity, codes[3], "192.0.2.4")).toBe(false);
    expect(await verifySecondFactor(identity, "nonsense-code", "192.0.2.5")).toBe(false);
    expect(await getDb().auditEvent.count({ where: { objectId: user.id, action: "user.recovery_code_used" } })).toBe(1);

    const reset = await runCli(["user", "reset-2fa", "--email", user.email, "--json"]);
    expect(reset.code).toBe(0);
    expect((await verifyPortalLogin(user.email, "totp-password-1"))?.twoFactor).toBe(false);
    expect(await getDb().portalRecoveryCode.count({ where: { userId: user.id } })).toBe(0);
    expect(await getDb().auditEvent.count({ where: { objectId: user.id, action: { in: ["user.2fa_enable", "user.2fa_reset"] } } })).toBe(2);
    expect((await runCli(["user", "reset-2fa", "--email", user.email, "--json"])).code).toBe(4);
  }, 300_000);

  it("locks an account's codes after AUTH_LOCK_AFTER wrong ones, from whatever addresses, even for the right code", async () => {
    const { user } = await createPortalUser(CLI_ACTOR, { email: "guessed@isp.example", role: "staff", password: "guess-password-1" });
    const me: Actor = { type: "staff", id: user.id, label: user.email };
    await startTwoFactorEnrolment(me);
    const status = await getTwoFactorStatus(me);
    if (status.state !== "enrolling") throw new Error(`state ${status.state}`);
    const now = Date.now();
    await confirmTwoFactorEnrolment(me, totpCode(status.secret, now), "198.51.100.1");
    const valid = new Set([-1, 0, 1, 2].map((k) => totpCode(status.secret, now + k * 30_000)));
    const wrong = Array.from({ length: 40 }, (_, i) => String(100000 + i * 7919))
      .filter((c) => !valid.has(c))
      .slice(0, 10);
    const identity = { id: user.id, email: user.email, role: "staff" as const, customerId: null };
    // ten guesses, each from its own address, so no address lock is reached
    for (const [i, code] of wrong.entries()) expect(await verifySecondFactor(identity, code, `203.0.113.${i + 1}`)).toBe(false);
    await expect(verifySecondFactor(identity, totpCode(status.secret, now + 30_000), "203.0.113.200")).rejects.toMatchObject({ code: "THROTTLED" });
  });
});
