// Real fetchmail as the ODMR customer against the real mailer: mail sent by swaks to our MX
// reaches the customer's MTA (a real smtp-server) intact, through ATRN and the turned-around
// connection; and fetchmail's view of each ATRN reply (its exit status).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { runFetchmail } from "../helpers/fetchmail.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

/** Sends `raw` with swaks to our MX (swaks dot-stuffs it and ends the data); resolves with swaks' exit status and output. */
function swaks(port: number, from: string, to: string[], raw: Buffer): Promise<{ code: number | null; output: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-swaks-"));
  const file = path.join(dir, "message.eml");
  fs.writeFileSync(file, raw);
  return new Promise((resolve, reject) => {
    const child = spawn(
      "swaks",
      ["--server", `127.0.0.1:${port}`, "--from", from, "--to", to.join(","), "--data", `@${file}`, "--helo", "sender.origin.example"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("error", reject);
    child.on("close", (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, output });
    });
  });
}

describe("fetchmail as the ODMR customer", () => {
  let mailer: MailerProcess;
  let receiver: SmtpReceiver;
  let acme: TestCustomer;
  let beta: TestCustomer;

  beforeAll(async () => {
    acme = await makeCustomer("Acme", ["acme.example", "acme-two.example"]);
    beta = await makeCustomer("Beta", ["beta.example"]);
    mailer = await startMailer();
    receiver = await startSmtpReceiver();
  });

  afterAll(async () => {
    await receiver?.close();
    await mailer?.stop();
  });

  const fetch = (customer: TestCustomer, domains: string[], extra: { ssl?: boolean; secret?: string } = {}) =>
    runFetchmail({
      port: extra.ssl ? mailer.odmrsPort : mailer.odmrPort,
      ssl: extra.ssl,
      login: customer.login,
      secret: extra.secret ?? customer.secret,
      domains,
      smtpPort: receiver.port,
    });

  it("relays mail that swaks sent to our MX into the customer's MTA, intact", async () => {
    const raw = Buffer.from(
      "From: Sender <sender@origin.example>\r\nTo: Alice <alice@acme.example>\r\nSubject: through the MX\r\n" +
        "Message-ID: <mx-path@origin.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
        "Grüße from swaks.\r\n.a line that starts with a dot\r\n\r\nLast line.\r\n",
    );
    const sent = await swaks(mailer.mxPort, "sender@origin.example", ["alice@acme.example"], raw);
    expect(sent.code, sent.output).toBe(0);
    const before = receiver.messages.length;
    const run = await fetch(acme, ["acme.example"]);
    expect(run.code, run.output).toBe(0);
    const [message] = receiver.messages.slice(before);
    expect(message.rcptTo).toEqual(["alice@acme.example"]);
    expect(message.mailFrom).toBe("sender@origin.example");
    // our MX adds its Received header on top; the message itself is unchanged
    const text = message.raw.toString("utf8");
    expect(text.startsWith("Received: ")).toBe(true);
    // (swaks ends the data with one more CRLF of its own)
    const sentData = Buffer.concat([raw, Buffer.from("\r\n")]);
    expect(message.raw.subarray(message.raw.length - sentData.length).equals(sentData)).toBe(true);
    expect(text).toContain("Grüße from swaks.");
  });

  it("releases several domains in one session, pipelining through fetchmail's relay", async () => {
    const expected: string[] = [];
    for (let i = 0; i < 15; i++) {
      for (const domain of ["acme.example", "acme-two.example"]) {
        await holdMessage([{ address: `u${i}@${domain}`, customer: acme }], testMessage(`to ${domain} ${i}`));
        expected.push(`u${i}@${domain}`);
      }
    }
    const before = receiver.messages.length;
    const run = await fetch(acme, ["acme.example", "acme-two.example"]);
    expect(run.code, run.output).toBe(0);
    expect(
      receiver.messages
        .slice(before)
        .map((m) => m.rcptTo[0])
        .sort(),
    ).toEqual(expected.sort());
    await expect
      .poll(() =>
        getDb().odmrSession.findFirst({
          where: { loginName: acme.login, reply: { startsWith: "250" }, endedAt: { not: null } },
          orderBy: { startedAt: "desc" },
        }),
      )
      .toMatchObject({ domainsRequested: ["acme.example", "acme-two.example"], messagesDelivered: 30 });
  });

  it("is refused (450, nothing released) for a domain of another customer", async () => {
    const id = await holdMessage([{ address: "kept@beta.example", customer: beta }], testMessage("for beta only"));
    const before = receiver.messages.length;
    const run = await fetch(acme, ["acme.example", "beta.example"]);
    expect(run.code, run.output).toBe(4);
    expect(run.output).toMatch(/450/);
    expect(receiver.messages.length).toBe(before);
    expect((await getDb().delivery.findMany({ where: { messageId: id } })).map((d) => d.state)).toEqual(["queued"]);
  });

  it("hears 453 when nothing is held", async () => {
    const run = await fetch(acme, ["acme-two.example"]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/453/);
  });

  it("fails with a wrong password", async () => {
    const before = receiver.messages.length;
    await holdMessage([{ address: "guarded@acme.example", customer: acme }], testMessage("guarded"));
    const run = await fetch(acme, ["acme.example"], { secret: "not-the-secret" });
    // fetchmail 6.4.37 reports a refused CRAM-MD5 as an SMTP error (status 128), not PS_AUTHFAIL (3)
    expect(run.code, run.output).not.toBe(0);
    expect(run.output).toMatch(/535 Authentication credentials invalid/);
    expect(receiver.messages.length).toBe(before);
    // a failed AUTH naming an existing login is recorded against that login (its owner sees it)
    await expect
      .poll(() => getDb().odmrSession.findFirst({ where: { loginName: acme.login, endedAt: { not: null } }, orderBy: { startedAt: "desc" } }))
      .toMatchObject({ outcome: "authentication failed", reply: null, authenticated: false, loginId: acme.loginId });
  });

  // fetchmail relays one line per select(2) wake-up and OpenSSL reads one record at a time: a
  // pipelined envelope or a dot sent in one record with the data would sit in its buffer until
  // the session timed out (this test then times out); the last line of each write goes apart
  it("collects over implicit TLS with --ssl, pipelining through fetchmail's TLS relay", async () => {
    const raws = Array.from({ length: 5 }, (_, i) => testMessage(`over tls ${i}`));
    for (const raw of raws) await holdMessage([{ address: "tls@beta.example", customer: beta }], raw);
    const before = receiver.messages.length;
    const run = await fetch(beta, ["beta.example"], { ssl: true });
    expect(run.code, run.output).toBe(0);
    const received = receiver.messages.slice(before);
    expect(raws.every((raw) => received.some((m) => m.raw.equals(raw)))).toBe(true);
    const session = await getDb().odmrSession.findFirst({ where: { loginName: beta.login, reply: { startsWith: "250" } }, orderBy: { startedAt: "desc" } });
    expect(session?.tls).toBe(true);
  });
});
