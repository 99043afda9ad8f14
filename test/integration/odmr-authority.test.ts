// A running ATRN session keeps only the authority its login has now: disabling the login,
// suspending the customer, restricting the login away from the domain or revoking the secret
// (through the real CLI) ends the session within 10 s, after the message in flight, and mail that
// arrives afterwards is not delivered. And RFC 3207 §4.2: an AUTH before STARTTLS does not count
// after it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer, OdmrCustomer } from "../helpers/odmr-customer.ts";
import { sleep } from "../helpers/sleep.ts";
import { startSmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

const HELD = 30;

describe("authority of a running ATRN session", () => {
  let mailer: MailerProcess;

  beforeAll(async () => {
    mailer = await startMailer({ ODMR_AUTH_RECHECK_SECONDS: "2", ATRN_RATE_PER_MINUTE: "50", AUTH_DELAY_STEP_MS: "0" });
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  const cases: { name: string; reason: RegExp; revoke: (c: { login: string; customer: string }) => string[] }[] = [
    { name: "mailharbor login disable", reason: /login disabled/, revoke: (c) => ["login", "disable", "--login", c.login, "--json"] },
    { name: "mailharbor customer suspend", reason: /customer suspended/, revoke: (c) => ["customer", "suspend", "--customer", c.customer, "--json"] },
    {
      name: "mailharbor login restrict (to another domain)",
      reason: /released domains no longer collectable/,
      revoke: (c) => ["login", "restrict", "--login", c.login, "--domains", `other-${c.login}.example`, "--json"],
    },
    {
      name: "mailharbor login rotate --keep-old-hours 0 (secret revoked)",
      reason: /secret revoked/,
      revoke: (c) => ["login", "rotate", "--login", c.login, "--keep-old-hours", "0", "--json"],
    },
  ];

  for (const [i, { name, reason, revoke }] of cases.entries()) {
    it(`ends the session within 10 s of ${name}, delivering nothing that arrives afterwards`, async () => {
      const label = `Revoke${i}`;
      const login = label.toLowerCase();
      const domain = `${login}.example`;
      const customer = await makeCustomer(label, [domain, `other-${login}.example`]);
      for (let m = 0; m < HELD; m++) await holdMessage([{ address: `u${m}@${domain}`, customer }], testMessage(`early ${m}`));
      // a slow customer: 0.4 s per message, so the one claim batch of 30 takes longer than 10 s
      const receiver = await startSmtpReceiver({ beforeReply: () => sleep(400) }, { listen: false });
      const odmr = await loggedInCustomer(mailer.odmrPort, customer.login, customer.secret);
      expect((await odmr.atrn([domain])).code).toBe(250);
      const served = odmr.serveWith(receiver);
      await receiver.waitForMessages(2, 15_000);
      const started = Date.now();
      const result = await runCli(revoke({ login: customer.login, customer: customer.id }));
      expect(result.code, result.stderr).toBe(0);
      for (let m = 0; m < 3; m++) await holdMessage([{ address: `late${m}@${domain}`, customer }], testMessage(`late ${m}`));
      await Promise.race([served, sleep(12_000)]);
      const seconds = (Date.now() - started) / 1000;
      expect(seconds).toBeLessThan(10);
      expect(receiver.messages.length).toBeLessThan(HELD);
      expect(receiver.messages.some((m) => m.raw.includes("Subject: late"))).toBe(false);
      await expect
        .poll(() => getDb().odmrSession.findFirst({ where: { loginName: customer.login, endedAt: { not: null } } }), { timeout: 5000 })
        .toMatchObject({ outcome: expect.stringMatching(reason) });
      const session = await getDb().odmrSession.findFirst({ where: { loginName: customer.login } });
      expect(session!.outcome).toMatch(/^no longer authorized: /);
      // what was not delivered is still held for a later, authorized session
      const held = await getDb().delivery.count({ where: { customerId: customer.id, state: "queued" } });
      expect(held).toBe(HELD + 3 - receiver.messages.length);
    });
  }

  it("forgets an AUTH made before STARTTLS: ATRN after STARTTLS and EHLO gets 530", async () => {
    const customer = await makeCustomer("Tls", ["tls.example"]);
    await holdMessage([{ address: "a@tls.example", customer }], testMessage("behind tls"));
    const odmr = await OdmrCustomer.connect(mailer.odmrPort);
    await odmr.ehlo();
    expect((await odmr.authCramMd5(customer.login, customer.secret)).code).toBe(235);
    expect((await odmr.startTls()).code).toBe(220);
    expect((await odmr.ehlo()).code).toBe(250);
    expect((await odmr.atrn(["tls.example"])).code).toBe(530);
    expect((await odmr.atrn()).code).toBe(530);
    // authenticating again inside TLS is what releases the mail
    expect((await odmr.authPlain(customer.login, customer.secret)).code).toBe(235);
    expect((await odmr.atrn(["tls.example"])).code).toBe(250);
    odmr.destroy();
  });
});
