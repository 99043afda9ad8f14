// AUTH throttling over real sockets against the real mailer: a success with one login does not
// wash an address's failures at another, parallel guesses cannot outrun the lock, the MX's
// AUTH (for ETRN) and the ODMR listener's AUTH count in one throttle, and with the default delay
// a customer's servers logging in together are not slowed down while a guesser is.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { makeCustomer, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { OdmrCustomer } from "../helpers/odmr-customer.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

useTestDatabase();

const LOCK_AFTER = 10;

describe("AUTH throttle", () => {
  let mailer: MailerProcess;
  let victim: TestCustomer;
  let attacker: TestCustomer;

  beforeAll(async () => {
    victim = await makeCustomer("Victim", ["victim.example"]);
    attacker = await makeCustomer("Attacker", ["attacker.example"]);
    // the MX offers AUTH only while some domain has ETRN
    await updateDomain(CLI_ACTOR, "attacker.example", { etrnEnabled: true, etrnTarget: "127.0.0.1:9" });
    // twenty parallel connections from one address are more than ODMR_MAX_CONNECTIONS_PER_IP allows by default
    mailer = await startMailer({ AUTH_DELAY_STEP_MS: "0", AUTH_LOCK_AFTER: String(LOCK_AFTER), ATRN_RATE_PER_MINUTE: "50", ODMR_MAX_CONNECTIONS_PER_IP: "30" });
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  async function odmrAuth(from: string, login: string, secret: string): Promise<number> {
    const customer = await OdmrCustomer.connect(mailer.odmrPort, { localAddress: from });
    await customer.ehlo();
    const reply = await customer.authCramMd5(login, secret);
    customer.destroy();
    return reply.code;
  }

  it("keeps counting an address's failures across its own good logins: 9 wrong + 1 good, 5 times, locks before the 45th failure", async () => {
    const codes: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 9; i++) codes.push(await odmrAuth("127.0.0.2", victim.login, "wrong-guess"));
      codes.push(await odmrAuth("127.0.0.2", attacker.login, attacker.secret));
    }
    const firstLock = codes.indexOf(454);
    expect(firstLock).toBeGreaterThan(0);
    const failuresBeforeLock = codes.slice(0, firstLock).filter((c) => c === 535).length;
    expect(failuresBeforeLock).toBe(LOCK_AFTER);
    // once locked, the address stays locked, good secret or not
    expect(codes.slice(firstLock).every((c) => c === 454)).toBe(true);
    expect(codes.filter((c) => c === 535).length).toBeLessThan(45);
    // another address is not affected, and the victim's own server still gets in
    expect(await odmrAuth("127.0.0.12", victim.login, victim.secret)).toBe(235);
  });

  it("checks no more than AUTH_LOCK_AFTER of 20 parallel wrong attempts", async () => {
    const customers = await Promise.all(Array.from({ length: 20 }, () => OdmrCustomer.connect(mailer.odmrPort, { localAddress: "127.0.0.3" })));
    await Promise.all(customers.map((c) => c.ehlo()));
    const challenges = await Promise.all(customers.map((c) => c.command("AUTH CRAM-MD5")));
    expect(challenges.every((r) => r.code === 334)).toBe(true);
    // every answer goes out before any of them is checked
    for (const c of customers) c.write(`${Buffer.from(`${victim.login} 0123456789abcdef0123456789abcdef`).toString("base64")}\r\n`);
    const codes = await Promise.all(customers.map((c) => c.reply().then((r) => r.code)));
    for (const c of customers) c.destroy();
    expect(codes.filter((c) => c === 535).length).toBeLessThanOrEqual(LOCK_AFTER);
    expect(codes.filter((c) => c === 454).length).toBeGreaterThanOrEqual(20 - LOCK_AFTER);
    expect(codes.every((c) => c === 535 || c === 454)).toBe(true);
  });

  it("counts failures on the MX's AUTH for the ODMR listener's AUTH", async () => {
    for (let i = 0; i < LOCK_AFTER; i++) {
      const mx = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.4" });
      expect((await mx.command("EHLO attacker.test")).lines).toContain("AUTH CRAM-MD5");
      expect((await mx.authCramMd5(victim.login, "wrong-guess")).code).toBe(535);
      mx.close();
    }
    expect(await odmrAuth("127.0.0.4", attacker.login, attacker.secret)).toBe(454);
    expect(await odmrAuth("127.0.0.5", attacker.login, attacker.secret)).toBe(235);
  });
});

describe("AUTH throttle with its default delay", () => {
  let mailer: MailerProcess;
  let customer: TestCustomer;

  beforeAll(async () => {
    customer = await makeCustomer("Together", ["together.example"]);
    mailer = await startMailer({});
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  async function timedAuth(from: string, secret: string): Promise<{ code: number; ms: number }> {
    const odmr = await OdmrCustomer.connect(mailer.odmrPort, { localAddress: from });
    await odmr.ehlo();
    const start = performance.now();
    const reply = await odmr.authCramMd5(customer.login, secret);
    const ms = performance.now() - start;
    odmr.destroy();
    return { code: reply.code, ms };
  }

  it("lets four sessions from one address log in at once without a wait", async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => timedAuth("127.0.0.6", customer.secret)));
    expect(results.map((r) => r.code)).toEqual([235, 235, 235, 235]);
    // the delay step is 1000 ms: a session counted as a failure would wait that long
    expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(800);
  });

  it("still slows an address down after its free failures", async () => {
    for (let i = 0; i < 3; i++) expect((await timedAuth("127.0.0.7", "wrong-guess")).code).toBe(535);
    const next = await timedAuth("127.0.0.7", "wrong-guess");
    expect(next.code).toBe(535);
    expect(next.ms).toBeGreaterThanOrEqual(950);
  });
});
