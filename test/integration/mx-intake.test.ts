// The MX takes mail for hosted domains from real senders (swaks and nodemailer) over real sockets,
// and holds exactly the bytes it was sent, after its own Received field.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { makeCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

const run = promisify(execFile);
useTestDatabase();

let mailer: MailerProcess;
let alpha: { id: string };
let beta: { id: string };
let scratch: string;

beforeAll(async () => {
  alpha = await makeCustomer("Alpha", [
    { name: "alpha.example", recipientPolicy: "accept_all", maxMessageSize: 10 * 1024 * 1024 },
    { name: "alpha-two.example", recipientPolicy: "listed", maxMessageSize: 5 * 1024 * 1024, recipients: ["known@alpha-two.example"] },
  ]);
  beta = await makeCustomer("Beta", [{ name: "beta.example", recipientPolicy: "accept_all", maxMessageSize: 20 * 1024 * 1024 }]);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mx-intake-"));
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** The stored message, its bytes split into our Received field and the rest, and its deliveries. */
async function stored(queueId: string) {
  const message = await getDb().message.findUniqueOrThrow({ where: { id: queueId }, include: { deliveries: { orderBy: { recipient: "asc" } } } });
  const body = await getDb().messageBody.findUniqueOrThrow({ where: { messageId: queueId }, select: { raw: true } });
  const raw = Buffer.from(body.raw);
  const text = raw.toString("latin1");
  // our field is the first one: "Received:" and its continuation lines
  const end = text.search(/\r\n(?![ \t])/) + 2;
  return { message, raw, received: text.slice(0, end), rest: raw.subarray(Buffer.byteLength(text.slice(0, end), "latin1")) };
}

function queuedId(output: string): string {
  const match = /250 2\.0\.0 Ok: queued as ([0-9A-Z]{16})/.exec(output);
  if (!match) throw new Error(`no queue id in: ${output}`);
  return match[1];
}

async function swaks(args: string[]): Promise<string> {
  const { stdout } = await run("swaks", ["--server", "127.0.0.1", "--port", String(mailer.mxPort), "--helo", "client.example", ...args], { timeout: 30_000 });
  return stdout;
}

describe("MX intake", () => {
  it("greets with the host name and offers the extensions, without AUTH", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    expect(dialog.greeting.last).toMatch(/^220 mx\.test\.example ESMTP/);
    const ehlo = await dialog.command("EHLO client.example");
    expect(ehlo.code).toBe(250);
    const keywords = ehlo.lines.slice(1);
    for (const k of ["PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "STARTTLS"]) expect(keywords).toContain(k);
    // SIZE is the largest limit of any hosted domain
    expect(keywords).toContain(`SIZE ${20 * 1024 * 1024}`);
    expect(keywords.some((k) => k.startsWith("AUTH"))).toBe(false);
    expect((await dialog.command("AUTH PLAIN AGFiYwBkZWY=")).last).toMatch(/^500 5\.5\.2 /);
    expect((await dialog.command("QUIT")).last).toMatch(/^221 2\.0\.0 /);
    await dialog.whenClosed();
  });

  it("answers ATRN with 500: only the ODMR listener knows it", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await dialog.command("EHLO client.example");
    expect((await dialog.command("ATRN alpha.example")).last).toMatch(/^500 5\.5\.2 /);
    dialog.close();
  });

  it("stores what swaks sent, byte for byte after our Received field", async () => {
    const content =
      "From: Sender <sender@example.org>\r\nTo: <user@alpha.example>\r\nSubject: plain test\r\nMessage-ID: <plain-1@example.org>\r\n" +
      "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n.leading dot survives\r\n..two dots\r\n";
    const file = path.join(scratch, "plain.eml");
    // swaks ends the data with its own CRLF before the final dot
    fs.writeFileSync(file, content.slice(0, -2));
    const output = await swaks(["--from", "sender@example.org", "--to", "user@alpha.example", "--data", file]);
    const id = queuedId(output);
    const { message, received, rest } = await stored(id);
    expect(rest.toString("latin1")).toBe(content);
    expect(received).toMatch(
      new RegExp(
        `^Received: from client\\.example \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby mx\\.test\\.example \\(Mailharbor\\) with ESMTP id ${id}\\r\\n\\tfor <user@alpha\\.example>; \\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000\\r\\n$`,
      ),
    );
    expect(message).toMatchObject({
      mailFrom: "sender@example.org",
      subject: "plain test",
      fromHeader: "Sender <sender@example.org>",
      messageIdHdr: "<plain-1@example.org>",
      dateHeader: "Sat, 21 Nov 2026 10:00:00 +0000",
      clientAddress: "127.0.0.1",
      heloName: "client.example",
    });
    expect(message.size).toBe(Buffer.byteLength(received) + Buffer.byteLength(content));
    expect(message.deliveries.map((d) => [d.recipient, d.customerId, d.state])).toEqual([["user@alpha.example", alpha.id, "queued"]]);
    const line = await mailer.waitForLog((l) => l.msg === "message accepted" && l.queueId === id);
    expect(line).toMatchObject({ from: "sender@example.org", rcpt: ["user@alpha.example"], size: message.size });
    expect(typeof line.session).toBe("string");
  });

  it("takes mail over STARTTLS and notes the TLS version and cipher", async () => {
    const output = await swaks(["-tls", "--from", "sender@example.org", "--to", "user@alpha.example"]);
    const { received } = await stored(queuedId(output));
    expect(received).toMatch(/\r\n\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)\r\n\tby mx\.test\.example \(Mailharbor\) with ESMTPS id /);
  });

  it("stores a pipelined message for recipients of two customers once, with a delivery each", async () => {
    const output = await swaks(["--pipeline", "--from", "sender@example.org", "--to", "a@alpha.example,known@alpha-two.example,b@beta.example"]);
    expect(output).toMatch(/PIPELINING/);
    const { message, received } = await stored(queuedId(output));
    expect(message.deliveries.map((d) => [d.recipient, d.customerId])).toEqual([
      ["a@alpha.example", alpha.id],
      ["b@beta.example", beta.id],
      ["known@alpha-two.example", alpha.id],
    ]);
    // with several recipients the Received field names none of them
    expect(received).not.toMatch(/\tfor </);
    expect(await getDb().message.count({ where: { id: message.id } })).toBe(1);
  });

  it("takes 8-bit mail with BODY=8BITMIME from nodemailer's client, bytes intact", async () => {
    const raw = Buffer.concat([
      Buffer.from("From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\r\nSubject: =?ISO-8859-1?Q?Gr=FC=DFe?= =?UTF-8?B?IGF1cyBLw7Zsbg==?=\r\n"),
      Buffer.from("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"),
      Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65, 0x0d, 0x0a]), // "Grüße" in Latin-1
    ]);
    const client = new SMTPConnection({ port: mailer.mxPort, host: "127.0.0.1", name: "client.example", ignoreTLS: true });
    await new Promise<void>((resolve, reject) => client.connect((err?: Error) => (err ? reject(err) : resolve())));
    const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) =>
      client.send({ from: "joerg@example.org", to: ["b@beta.example"], use8BitMime: true } as SMTPConnection.Envelope, raw, (err, result) =>
        err ? reject(err) : resolve(result),
      ),
    );
    client.quit();
    const { message, rest } = await stored(queuedId(info.response));
    expect(Buffer.compare(rest, raw)).toBe(0);
    expect(message).toMatchObject({ bodyType: "8BITMIME", smtputf8: false, fromHeader: "Jörg <joerg@example.org>", subject: "Grüße aus Köln" });
  });

  it("takes SMTPUTF8 mail for an internationalized address from nodemailer", async () => {
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port: mailer.mxPort, secure: false, ignoreTLS: true, name: "client.example" });
    const info = await transport.sendMail({ from: "rené@example.org", to: "jürgen@beta.example", subject: "Grüße", text: "Hallo Jürgen" });
    transport.close();
    const { message, received } = await stored(queuedId(info.response));
    expect(message).toMatchObject({ mailFrom: "rené@example.org", smtputf8: true, subject: "Grüße" });
    expect(message.deliveries.map((d) => d.recipient)).toEqual(["jürgen@beta.example"]);
    expect(Buffer.from(received, "latin1").toString("utf8")).toMatch(/with UTF8SMTP id .*\r\n\tfor <jürgen@beta\.example>;/s);
  });

  it("keeps an internationalized sender domain in the A-label form it was sent in, without SMTPUTF8", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await dialog.command("EHLO client.example");
    const sent = await dialog.send("a@xn--bcher-kva.example", ["idn@alpha.example"], "Subject: idn sender\r\n\r\nHi\r\n");
    expect(sent.final?.code).toBe(250);
    dialog.close();
    // smtp-server alone hands the application "a@bücher.example", which would be replayed as MAIL FROM without SMTPUTF8
    const { message } = await stored(queuedId(sent.final!.last));
    expect(message).toMatchObject({ mailFrom: "a@xn--bcher-kva.example", smtputf8: false });
  });

  it("takes the next transaction pipelined right behind the final dot (RFC 2920)", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await dialog.command("EHLO client.example");
    const envelope = (to: string) => `MAIL FROM:<p@example.org>\r\nRCPT TO:<${to}>\r\nDATA\r\n`;
    dialog.write(envelope("first@alpha.example"));
    expect([(await dialog.reply()).code, (await dialog.reply()).code, (await dialog.reply()).code]).toEqual([250, 250, 354]);
    dialog.write(`Subject: first\r\n\r\n1\r\n.\r\n${envelope("second@beta.example")}`);
    const first = await dialog.reply();
    expect([(await dialog.reply()).code, (await dialog.reply()).code, (await dialog.reply()).code]).toEqual([250, 250, 354]);
    dialog.write("Subject: second\r\n\r\n2\r\n.\r\nQUIT\r\n");
    const second = await dialog.reply();
    expect((await dialog.reply()).code).toBe(221);
    expect((await stored(queuedId(first.last))).message.deliveries.map((d) => d.recipient)).toEqual(["first@alpha.example"]);
    expect((await stored(queuedId(second.last))).message.deliveries.map((d) => d.recipient)).toEqual(["second@beta.example"]);
  });

  it("answers a long pipelined burst of commands, each in order", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await dialog.command("EHLO client.example");
    dialog.write("NOOP\r\nRSET\r\n".repeat(1000) + "HELP\r\n");
    const codes: number[] = [];
    for (let i = 0; i < 2001; i++) codes.push((await dialog.reply()).code);
    expect(codes.slice(0, 2000).every((c) => c === 250)).toBe(true);
    expect(codes[2000]).toBe(214);
    dialog.close();
  });

  it("takes several messages in one session, and RSET forgets a transaction", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await dialog.command("EHLO client.example");
    const first = await dialog.send("s@example.org", ["one@alpha.example"], "Subject: one\r\n\r\n1\r\n");
    expect(first.final?.last).toMatch(/^250 2\.0\.0 Ok: queued as /);
    expect((await dialog.command("MAIL FROM:<s@example.org>")).last).toMatch(/^250 2\.1\.0 /);
    expect((await dialog.command("RCPT TO:<forgotten@alpha.example>")).last).toMatch(/^250 2\.1\.5 /);
    expect((await dialog.command("RSET")).code).toBe(250);
    const second = await dialog.send("s@example.org", ["two@alpha.example"], "Subject: two\r\n\r\n2\r\n");
    const { message } = await stored(queuedId(second.final!.last));
    expect(message.deliveries.map((d) => d.recipient)).toEqual(["two@alpha.example"]);
    await dialog.command("QUIT");
  });
});
