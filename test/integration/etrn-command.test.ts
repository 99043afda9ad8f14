// ETRN (RFC 1985) on the MX, over real sockets against the real mailer: what EHLO offers, AUTH
// (CRAM-MD5 in clear, PLAIN only inside TLS), every reply to ETRN with its enhanced code, ETRN
// from a listed network without AUTH, a run that delivers to a real SMTP server over STARTTLS,
// and proof that an authenticated session still cannot relay.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { loadConfig } from "../../lib/config/config.ts";
import { getDb } from "../../lib/db/client.ts";
import { createDomain, updateDomain } from "../../lib/domains/domains.ts";
import { loadTls } from "../../lib/tls/load-tls.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

const env = useTestDatabase();

let mailer: MailerProcess;
let receiver: SmtpReceiver;
let slowReceiver: SmtpReceiver;
let acme: TestCustomer;
let other: TestCustomer;
let listed: TestCustomer;
let admin: pg.Client;

async function ehlo(dialog: SmtpDialog): Promise<string[]> {
  const reply = await dialog.command("EHLO client.example");
  expect(reply.code).toBe(250);
  return reply.lines.slice(1);
}

/** EHLO, STARTTLS, EHLO again and AUTH CRAM-MD5 as the customer's login. */
async function authenticated(customer: TestCustomer, options: { localAddress?: string } = {}): Promise<SmtpDialog> {
  const dialog = await SmtpDialog.open(mailer.mxPort, options);
  await ehlo(dialog);
  await dialog.startTls();
  await ehlo(dialog);
  const auth = await dialog.authCramMd5(customer.login, customer.secret);
  expect(auth.last).toMatch(/^235 2\.7\.0 /);
  return dialog;
}

async function etrnSessions(customerId: string) {
  return getDb().odmrSession.findMany({ where: { kind: "etrn", customerId }, orderBy: { startedAt: "asc" } });
}

beforeAll(async () => {
  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-etrn-target-"));
  const material = await loadTls(loadConfig({ MAILHARBOR_DATA_DIR: tlsDir, MAIL_HOSTNAME: "customer.test.example" }));
  receiver = await startSmtpReceiver({}, { tls: { key: material.key, cert: material.cert } });
  slowReceiver = await startSmtpReceiver({ beforeReply: () => sleep(600) });
  fs.rmSync(tlsDir, { recursive: true, force: true });
  admin = new pg.Client({ connectionString: inject("pgAdminUrl") });
  await admin.connect();
  // no domain has ETRN yet: the MX must not offer it
  mailer = await startMailer();
});

afterAll(async () => {
  await admin?.query(`ALTER DATABASE ${new URL(env.url).pathname.slice(1)} ALLOW_CONNECTIONS true`).catch(() => undefined);
  await mailer?.stop();
  await admin?.end();
  await receiver?.close();
  await slowReceiver?.close();
});

describe("what the MX offers", () => {
  it("offers neither ETRN nor AUTH while no domain has ETRN, and both once one does", async () => {
    const before = await SmtpDialog.open(mailer.mxPort);
    const lines = await ehlo(before);
    expect(lines).not.toContain("ETRN");
    expect(lines.some((l) => l.startsWith("AUTH"))).toBe(false);
    // and answers them as it answers any verb it does not know
    expect((await before.command("ETRN acme.example")).last).toBe("500 5.5.2 Error: command not recognized");
    expect((await before.command("AUTH CRAM-MD5")).last).toBe("500 5.5.2 Error: command not recognized");
    before.close();

    acme = await makeCustomer("Acme", ["acme.example", "branch.acme.example", "atrnonly.acme-mail.example"]);
    other = await makeCustomer("Other", ["other.example"]);
    listed = await makeCustomer("Listed", ["listed.example"]);
    for (const domain of ["acme.example", "branch.acme.example"]) {
      await updateDomain(CLI_ACTOR, domain, { etrnEnabled: true, etrnTarget: `127.0.0.1:${receiver.port}` });
    }
    await updateDomain(CLI_ACTOR, "other.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${receiver.port}` });
    await updateDomain(CLI_ACTOR, "listed.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${receiver.port}`, etrnFrom: ["127.0.0.5", "10.9.0.0/16"] });

    // the MX looks again at most once a second, on a new connection
    await expect
      .poll(
        async () => {
          const dialog = await SmtpDialog.open(mailer.mxPort);
          const offered = await ehlo(dialog);
          dialog.close();
          return offered;
        },
        { timeout: 10_000, interval: 300 },
      )
      .toEqual(expect.arrayContaining(["ETRN", "AUTH CRAM-MD5", "STARTTLS"]));
  });

  it("offers PLAIN and LOGIN only inside TLS, and refuses PLAIN in clear with 538 5.7.11", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    const clear = await ehlo(dialog);
    expect(clear).toContain("AUTH CRAM-MD5");
    expect(clear).not.toContain("AUTH CRAM-MD5 PLAIN LOGIN");
    const plain = Buffer.from(`\0${acme.login}\0${acme.secret}`).toString("base64");
    expect((await dialog.command(`AUTH PLAIN ${plain}`)).last).toMatch(/^538 5\.7\.11 /);
    await dialog.startTls();
    const secure = await ehlo(dialog);
    expect(secure).toContain("AUTH CRAM-MD5 PLAIN LOGIN");
    expect(secure).toContain("ETRN");
    expect((await dialog.command(`AUTH PLAIN ${plain}`)).last).toMatch(/^235 2\.7\.0 /);
    // RFC 4954 §4: no AUTH after AUTH, and EHLO no longer lists it
    expect(await ehlo(dialog)).not.toContain("AUTH CRAM-MD5 PLAIN LOGIN");
    dialog.close();
  });

  it("refuses a wrong secret with 535 5.7.8", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await ehlo(dialog);
    expect((await dialog.authCramMd5(acme.login, "not-the-secret")).last).toMatch(/^535 5\.7\.8 /);
    // logged under the MX's own code, so an alert on ODMR_AUTH_* does not fire for the MX
    const logged = await mailer.waitForLog((l) => l.msg === "authentication failed" && l.login === acme.login, 10_000);
    expect(logged.code).toBe("MX_AUTH_FAILED");
    dialog.close();
  });
});

describe("ETRN after STARTTLS and AUTH", () => {
  it("answers 253 with the number of held messages and delivers them to the target over TLS", async () => {
    const first = testMessage("etrn one");
    const second = testMessage("etrn two");
    await holdMessage(
      [
        { address: "a@acme.example", customer: acme },
        { address: "b@acme.example", customer: acme },
      ],
      first,
    );
    await holdMessage([{ address: "c@acme.example", customer: acme }], second);
    const dialog = await authenticated(acme);
    const reply = await dialog.command("ETRN acme.example");
    expect(reply.last).toBe("253 2.0.0 OK, 2 pending messages for node acme.example started");
    const received = await receiver.waitForMessages(2);
    expect(received.map((m) => m.raw.equals(first) || m.raw.equals(second))).toEqual([true, true]);
    expect(received.every((m) => m.secure)).toBe(true);
    expect(received.map((m) => m.rcptTo.sort())).toEqual([["a@acme.example", "b@acme.example"], ["c@acme.example"]]);
    await expect
      .poll(async () => (await getDb().delivery.findMany({ where: { domainId: acme.domains.get("acme.example") } })).map((d) => d.state))
      .toEqual(["delivered", "delivered", "delivered"]);
    await expect
      .poll(async () => (await etrnSessions(acme.id)).find((s) => s.reply?.startsWith("253") && s.endedAt))
      .toMatchObject({
        loginName: acme.login,
        remoteAddress: "127.0.0.1",
        tls: true,
        messagesDelivered: 2,
        recipientsDelivered: 3,
        domainsRequested: ["acme.example"],
      });
    const session = (await etrnSessions(acme.id)).find((s) => s.reply?.startsWith("253"))!;
    expect(session.outcome).toMatch(/^completed; 2 messages delivered to 127\.0\.0\.1:\d+ over TLS$/);
    dialog.close();
  });

  it("answers 251 when nothing is held", async () => {
    const dialog = await authenticated(acme);
    expect((await dialog.command("ETRN acme.example")).last).toBe("251 2.0.0 OK, no messages waiting for node acme.example");
    dialog.close();
  });

  it("answers 250 while a run for the domain is already going, and leaves the mail to it", async () => {
    await updateDomain(CLI_ACTOR, "other.example", { etrnTarget: `127.0.0.1:${slowReceiver.port}` });
    for (let i = 0; i < 3; i++) await holdMessage([{ address: `o${i}@other.example`, customer: other }], testMessage(`slow ${i}`));
    const dialog = await authenticated(other);
    expect((await dialog.command("ETRN other.example")).last).toBe("253 2.0.0 OK, 3 pending messages for node other.example started");
    expect((await dialog.command("ETRN other.example")).last).toBe("250 2.0.0 OK, queuing for node other.example started");
    await slowReceiver.waitForMessages(3);
    expect(slowReceiver.messages).toHaveLength(3);
    dialog.close();
  });

  it("releases the domain and the domains below it for ETRN @domain", async () => {
    await holdMessage([{ address: "x@branch.acme.example", customer: acme }], testMessage("branch office"));
    const before = receiver.messages.length;
    const dialog = await authenticated(acme);
    expect((await dialog.command("ETRN @acme.example")).last).toBe("253 2.0.0 OK, 1 pending messages for node @acme.example started");
    await receiver.waitForMessages(before + 1);
    expect(receiver.messages[before].rcptTo).toEqual(["x@branch.acme.example"]);
    dialog.close();
  });
});

describe("ETRN refusals", () => {
  it("answers 500 and 501 to bad syntax, and 503 before EHLO or inside a transaction", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    expect((await dialog.command("ETRN acme.example")).last).toMatch(/^503 5\.5\.1 /);
    await ehlo(dialog);
    expect((await dialog.command("ETRN")).last).toBe("500 5.5.2 Syntax: ETRN [@]domain");
    expect((await dialog.command("ETRN acme.example other.example")).last).toBe("500 5.5.2 Syntax: ETRN [@]domain");
    expect((await dialog.command("ETRN not_a_domain!")).last).toBe("501 5.5.4 Syntax error in parameters: not a domain name");
    expect((await dialog.command("ETRN localhost")).last).toMatch(/^501 5\.5\.4 /);
    expect((await dialog.command("MAIL FROM:<s@origin.example>")).code).toBe(250);
    expect((await dialog.command("ETRN acme.example")).last).toBe("503 5.5.1 Error: MAIL transaction in progress");
    dialog.close();
  });

  it("answers 459 without AUTH from an address that is not listed", async () => {
    // a run from an earlier test may still be looking for more of acme's mail: let it end first,
    // so that what happens to the message below is up to this test's refusals alone
    await expect.poll(async () => Number((await getDb().$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM etrn_run`)[0].n), { timeout: 30_000 }).toBe(0);
    await holdMessage([{ address: "n@acme.example", customer: acme }], testMessage("not for strangers"));
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await ehlo(dialog);
    expect((await dialog.command("ETRN acme.example")).last).toBe("459 4.7.0 Node acme.example not allowed: not a domain this client may release");
    expect((await dialog.command("ETRN listed.example")).code).toBe(459);
    expect((await dialog.command("ETRN #somequeue")).last).toBe("459 4.7.0 Node #somequeue not allowed: queue names are not supported");
    dialog.close();
    expect(await getDb().delivery.count({ where: { recipient: "n@acme.example", state: "queued" } })).toBe(1);
  });

  it("answers 459 for another customer's domain, a domain without ETRN and an unknown one, and records the refusals", async () => {
    const dialog = await authenticated(other);
    const refused = ["acme.example", "atrnonly.acme-mail.example", "nowhere.example"];
    for (const node of refused)
      expect((await dialog.command(`ETRN ${node}`)).last).toMatch(new RegExp(`^459 4\\.7\\.0 Node ${node.replace(/\./g, "\\.")} not allowed: `));
    // ATRN-only domain of the authenticated customer: ETRN is not enabled for it
    const own = await authenticated(acme);
    expect((await own.command("ETRN atrnonly.acme-mail.example")).code).toBe(459);
    own.close();
    dialog.close();
    await expect
      .poll(async () =>
        (await etrnSessions(other.id))
          .filter((s) => s.reply?.startsWith("459"))
          .map((s) => s.domainsRequested[0])
          .sort(),
      )
      .toEqual([...refused].sort());
    // the other customer sees nothing of it
    expect((await etrnSessions(acme.id)).some((s) => s.loginName === other.login)).toBe(false);
  });

  it("takes ETRN from a listed address without AUTH", async () => {
    const raw = testMessage("static address");
    await holdMessage([{ address: "l@listed.example", customer: listed }], raw);
    const before = receiver.messages.length;
    const dialog = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.5" });
    await ehlo(dialog);
    expect((await dialog.command("ETRN listed.example")).last).toBe("253 2.0.0 OK, 1 pending messages for node listed.example started");
    await receiver.waitForMessages(before + 1);
    expect(receiver.messages[before].raw.equals(raw)).toBe(true);
    // the listed address releases only its own domain
    expect((await dialog.command("ETRN other.example")).code).toBe(459);
    dialog.close();
    await expect
      .poll(async () => (await etrnSessions(listed.id)).find((s) => s.endedAt))
      .toMatchObject({ remoteAddress: "127.0.0.5", loginName: null, messagesDelivered: 1, tls: true });
  });

  it("answers 458 when the database cannot answer, and releases nothing", async () => {
    await holdMessage([{ address: "d@acme.example", customer: acme }], testMessage("database down"));
    const before = receiver.messages.length;
    const dialog = await authenticated(acme);
    const dbName = new URL(env.url).pathname.slice(1);
    await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [dbName]);
    try {
      expect((await dialog.command("ETRN acme.example")).last).toBe("458 4.3.0 Unable to queue messages for node acme.example");
    } finally {
      await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
    }
    dialog.close();
    await sleep(300);
    expect(receiver.messages.length).toBe(before);
    expect(await getDb().delivery.count({ where: { recipient: "d@acme.example", state: "queued" } })).toBe(1);
  });
});

describe("probing", () => {
  it("closes a session that keeps asking for nodes that are not its own", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await ehlo(dialog);
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) codes.push((await dialog.command(`ETRN guess${i}.example`)).code);
    expect(codes.slice(0, 19).every((c) => c === 459)).toBe(true);
    expect((await dialog.reply()).last).toMatch(/^421 4\.7\.0 /);
    await dialog.whenClosed();
  });
});

describe("AUTH on the MX grants ETRN and nothing else", () => {
  it("still refuses to relay for an authenticated client", async () => {
    const dialog = await authenticated(acme);
    expect((await dialog.command("MAIL FROM:<acme@acme.example>")).code).toBe(250);
    expect((await dialog.command("RCPT TO:<someone@elsewhere.example>")).last).toBe("550 5.7.1 <someone@elsewhere.example>: Relay access denied");
    // mail for hosted domains is taken as from anyone
    expect((await dialog.command("RCPT TO:<a@other.example>")).code).toBe(250);
    dialog.close();
  });

  it("answers ATRN on the MX as an unknown command", async () => {
    const dialog = await authenticated(acme);
    expect((await dialog.command("ATRN acme.example")).code).toBe(500);
    dialog.close();
  });
});

describe("a domain that is not ETRN's", () => {
  it("is refused by name even when the client's address is listed elsewhere", async () => {
    await createDomain(CLI_ACTOR, { customer: listed.id, name: "second.example", recipientPolicy: "accept_all" });
    const dialog = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.5" });
    await ehlo(dialog);
    expect((await dialog.command("ETRN second.example")).code).toBe(459);
    dialog.close();
  });
});
