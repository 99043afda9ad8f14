// Every refusal of the MX, each with its exact reply code and enhanced status code, over a real
// socket; and for refused messages, proof that nothing was stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { setCustomerStatus } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { addRecipients } from "../../lib/recipients/recipients.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { makeCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

useTestDatabase();

let mailer: MailerProcess;

beforeAll(async () => {
  await makeCustomer("Active", [
    { name: "open.example", recipientPolicy: "accept_all", maxMessageSize: 64 * 1024 },
    { name: "small.example", recipientPolicy: "accept_all", maxMessageSize: 2048 },
    { name: "listed.example", recipientPolicy: "listed", maxMessageSize: 64 * 1024, recipients: ["alice@listed.example"] },
    { name: "paused.example", recipientPolicy: "accept_all", maxMessageSize: 64 * 1024, acceptInbound: false },
  ]);
  const suspended = await makeCustomer("Suspended", [{ name: "suspended.example", recipientPolicy: "accept_all", maxMessageSize: 64 * 1024 }]);
  await setCustomerStatus(CLI_ACTOR, suspended.id, "suspended");
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

async function session(): Promise<SmtpDialog> {
  const dialog = await SmtpDialog.open(mailer.mxPort);
  expect((await dialog.command("EHLO client.example")).code).toBe(250);
  return dialog;
}

async function rcptReply(to: string, mailParams = ""): Promise<string> {
  const dialog = await session();
  await dialog.command(`MAIL FROM:<sender@example.org>${mailParams}`);
  const reply = await dialog.command(`RCPT TO:<${to}>`);
  dialog.close();
  return reply.last;
}

const messageCount = () => getDb().message.count();

describe("MX refusals at RCPT", () => {
  it("refuses to relay for a domain it does not host", async () => {
    expect(await rcptReply("someone@elsewhere.example")).toMatch(/^550 5\.7\.1 <someone@elsewhere\.example>: Relay access denied$/);
  });

  it("refuses unknown users of a domain with a recipient list, and takes listed ones", async () => {
    expect(await rcptReply("mallory@listed.example")).toMatch(/^550 5\.1\.1 /);
    expect(await rcptReply("alice@listed.example")).toMatch(/^250 2\.1\.5 /);
    // RFC 5321 §4.5.1: a hosted domain's postmaster is always taken
    expect(await rcptReply("PostMaster@listed.example")).toMatch(/^250 2\.1\.5 /);
    expect(await rcptReply("ALICE@Listed.Example")).toMatch(/^250 2\.1\.5 /);
  });

  it("takes any local part for an accept-all domain", async () => {
    expect(await rcptReply("anything-at-all@open.example")).toMatch(/^250 2\.1\.5 /);
  });

  it("defers mail for a suspended customer and for a paused domain", async () => {
    expect(await rcptReply("u@suspended.example")).toMatch(/^450 4\.7\.1 /);
    expect(await rcptReply("u@paused.example")).toMatch(/^450 4\.7\.1 /);
  });

  it("counts a suspension, a resumption and a new recipient at once", async () => {
    const customer = await makeCustomer("Changing", [
      { name: "changing.example", recipientPolicy: "listed", maxMessageSize: 64 * 1024, recipients: ["first@changing.example"] },
    ]);
    expect(await rcptReply("first@changing.example")).toMatch(/^250 /);
    expect(await rcptReply("second@changing.example")).toMatch(/^550 5\.1\.1 /);
    await addRecipients(CLI_ACTOR, "changing.example", ["second@changing.example"]);
    expect(await rcptReply("second@changing.example")).toMatch(/^250 /);
    await setCustomerStatus(CLI_ACTOR, customer.id, "suspended");
    expect(await rcptReply("first@changing.example")).toMatch(/^450 4\.7\.1 /);
    await setCustomerStatus(CLI_ACTOR, customer.id, "active");
    expect(await rcptReply("first@changing.example")).toMatch(/^250 /);
  });

  it("refuses the 101st recipient with 452 4.5.3", async () => {
    const dialog = await session();
    await dialog.command("MAIL FROM:<sender@example.org>");
    dialog.write(Array.from({ length: 101 }, (_, i) => `RCPT TO:<r${i}@open.example>\r\n`).join(""));
    const replies = [];
    for (let i = 0; i < 101; i++) replies.push(await dialog.reply());
    expect(replies.slice(0, 100).every((r) => r.code === 250)).toBe(true);
    expect(replies[100].last).toMatch(/^452 4\.5\.3 /);
    dialog.close();
  });

  it("refuses a declared SIZE above every domain's limit at MAIL FROM, and above the recipient's at RCPT", async () => {
    const dialog = await session();
    expect((await dialog.command(`MAIL FROM:<s@example.org> SIZE=${64 * 1024 + 1}`)).last).toMatch(/^552 5\.3\.4 /);
    dialog.close();
    expect(await rcptReply("u@small.example", " SIZE=4096")).toMatch(/^552 5\.3\.4 /);
    expect(await rcptReply("u@open.example", " SIZE=4096")).toMatch(/^250 2\.1\.5 /);
  });

  it("asks for SMTPUTF8 before taking a non-ASCII address, and keeps no local postmaster", async () => {
    expect(await rcptReply("jürgen@open.example")).toMatch(/^553 5\.6\.7 /);
    expect(await rcptReply("jürgen@open.example", " SMTPUTF8")).toMatch(/^250 2\.1\.5 /);
    expect(await rcptReply("postmaster")).toMatch(/^550 5\.1\.1 /);
  });
});

describe("MX refusals at DATA: nothing is stored", () => {
  async function dataReply(to: string, message: string | Buffer): Promise<string> {
    const before = await messageCount();
    const dialog = await session();
    const result = await dialog.send("sender@example.org", [to], message);
    dialog.close();
    expect(await messageCount()).toBe(before);
    return result.final!.last;
  }

  it("refuses a message over the domain's limit once it passes it", async () => {
    const big = `Subject: big\r\n\r\n${"x".repeat(70).concat("\r\n").repeat(1000)}`;
    expect(await dataReply("u@open.example", big)).toMatch(/^552 5\.3\.4 /);
  });

  it("applies the smallest limit among the recipients' domains", async () => {
    const before = await messageCount();
    const dialog = await session();
    const result = await dialog.send(
      "sender@example.org",
      ["u@open.example", "u@small.example"],
      `Subject: s\r\n\r\n${"y".repeat(60).concat("\r\n").repeat(50)}`,
    );
    expect(result.final!.last).toMatch(/^552 5\.3\.4 /);
    dialog.close();
    expect(await messageCount()).toBe(before);
  });

  it("refuses a looping message (more than 30 Received fields) and takes one with 30", async () => {
    const received = (n: number) =>
      Array.from({ length: n }, (_, i) => `Received: from hop${i}.example by hop${i + 1}.example; Sat, 21 Nov 2026 10:00:00 +0000\r\n`).join("");
    expect(await dataReply("u@open.example", `${received(31)}Subject: loop\r\n\r\nbody\r\n`)).toMatch(/^554 5\.4\.6 /);
    const dialog = await session();
    const ok = await dialog.send("sender@example.org", ["u@open.example"], `${received(30)}Subject: not yet a loop\r\n\r\nbody\r\n`);
    expect(ok.final!.last).toMatch(/^250 2\.0\.0 Ok: queued as /);
    dialog.close();
  });

  it("refuses bare LF, bare CR, NUL bytes and over-long lines in the message", async () => {
    expect(await dataReply("u@open.example", "Subject: lf\r\n\r\nbare\nline feed\r\n")).toMatch(/^550 5\.5\.2 /);
    expect(await dataReply("u@open.example", "Subject: cr\r\n\r\nbare\rcarriage return\r\n")).toMatch(/^550 5\.5\.2 /);
    expect(await dataReply("u@open.example", Buffer.from("Subject: nul\r\n\r\nnul\u0000byte\r\n", "latin1"))).toMatch(/^550 5\.6\.0 /);
    expect(await dataReply("u@open.example", `Subject: long\r\n\r\n${"z".repeat(999)}\r\n`)).toMatch(/^550 5\.5\.2 /);
    // 998 octets and CRLF are allowed
    const dialog = await session();
    const ok = await dialog.send("sender@example.org", ["u@open.example"], `Subject: long but legal\r\n\r\n${"z".repeat(998)}\r\n`);
    expect(ok.final!.last).toMatch(/^250 2\.0\.0 /);
    dialog.close();
  });

  it("does not end the message at a bare-LF dot (SMTP smuggling)", async () => {
    const before = await messageCount();
    const dialog = await session();
    await dialog.command("MAIL FROM:<sender@example.org>");
    await dialog.command("RCPT TO:<u@open.example>");
    expect((await dialog.command("DATA")).code).toBe(354);
    dialog.write("Subject: smuggle\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@open.example>\r\n.\r\n");
    expect((await dialog.reply()).last).toMatch(/^550 5\.5\.2 /);
    expect((await dialog.command("NOOP")).code).toBe(250);
    dialog.close();
    expect(await messageCount()).toBe(before);
  });
});

describe("MX refusals of command lines", () => {
  it("answers an over-long line, a bare LF and a NUL byte with 500 5.5.2 and carries on", async () => {
    const dialog = await session();
    expect((await dialog.command(`MAIL FROM:<${"a".repeat(2000)}@example.org>`)).last).toMatch(/^500 5\.5\.2 Line too long/);
    dialog.write("NOOP\n");
    expect((await dialog.reply()).last).toMatch(/^500 5\.5\.2 /);
    dialog.write(Buffer.from("NOOP\u0000\r\n", "latin1"));
    expect((await dialog.reply()).last).toMatch(/^500 5\.5\.2 /);
    expect((await dialog.command("NOOP")).last).toMatch(/^250 2\.0\.0 /);
    dialog.close();
  });

  it("does not run commands pipelined in clear behind STARTTLS (RFC 3207 §5)", async () => {
    const dialog = await session();
    await dialog.startTls("EHLO injected.example\r\nMAIL FROM:<injected@example.org>\r\n");
    // had the injected lines run inside the TLS session, this RCPT would be accepted
    expect((await dialog.command("RCPT TO:<u@open.example>")).last).toMatch(/^503 5\.5\.1 /);
    expect((await dialog.command("EHLO client.example")).code).toBe(250);
    dialog.close();
  });

  it("answers parameters of extensions it did not offer with 555 5.5.4 (RFC 5321 §4.1.1.11)", async () => {
    const dialog = await session();
    expect((await dialog.command("MAIL FROM:<s@example.org> RET=HDRS ENVID=x1")).last).toMatch(/^555 5\.5\.4 /);
    expect((await dialog.command("MAIL FROM:<s@example.org> BODY=8BITMIME SIZE=100")).last).toMatch(/^250 /);
    expect((await dialog.command("RCPT TO:<u@open.example> NOTIFY=NEVER")).last).toMatch(/^555 5\.5\.4 /);
    expect((await dialog.command("RCPT TO:<u@open.example>")).last).toMatch(/^250 /);
    dialog.close();
  });

  it("answers commands out of order with 503 5.5.1", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    expect((await dialog.command("MAIL FROM:<s@example.org>")).last).toMatch(/^503 5\.5\.1 /);
    await dialog.command("EHLO client.example");
    expect((await dialog.command("RCPT TO:<u@open.example>")).last).toMatch(/^503 5\.5\.1 /);
    expect((await dialog.command("DATA")).last).toMatch(/^503 5\.5\.1 /);
    await dialog.command("MAIL FROM:<s@example.org>");
    expect((await dialog.command("MAIL FROM:<s@example.org>")).last).toMatch(/^503 5\.5\.1 /);
    expect((await dialog.command("DATA")).last).toMatch(/^503 5\.5\.1 /);
    dialog.close();
  });

  it("disconnects a client after repeated errors with 421 4.7.0", async () => {
    const dialog = await session();
    let last = "";
    for (let i = 0; i < 30 && !dialog.closed; i++) {
      dialog.write("RCPT TO:<u@open.example>\r\n");
      const reply = await dialog.reply().catch(() => null);
      if (!reply) break;
      last = reply.last;
      if (reply.code === 421) break;
    }
    expect(last).toMatch(/^421 4\.7\.0 /);
    await dialog.whenClosed();
  });
});
