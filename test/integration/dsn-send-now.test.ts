// The staff's DSN queue in the core: who may see it, how each DSN's status is read, and "send now"
// through a real SMTP receiver standing in for the SMARTHOST: a held DSN goes out, a refused one
// becomes failed and can be sent again once the cause is fixed, a sent one is never sent twice, and
// two senders at once (housekeeping and a staff member) never send one DSN twice.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR, type Actor } from "../../lib/actor.ts";
import { useConfig } from "../../lib/config/config.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { listDsns, getDsn } from "../../lib/dsn/list-dsns.ts";
import { sendDsnNow } from "../../lib/dsn/send-dsn-now.ts";
import { sendStoredDsns } from "../../lib/dsn/send-dsns.ts";
import { parseHostPort } from "../../lib/validation/host-port.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { customerActor, STAFF_ACTOR as STAFF } from "../helpers/fixtures.ts";
import { sleep } from "../helpers/sleep.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

let receiver: SmtpReceiver;
let refuse = true;
let customer: Actor;

function dsnText(to: string): Buffer {
  return Buffer.from(
    `From: MAILER-DAEMON@mx.test.example\r\nTo: ${to}\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nreport ${crypto.randomUUID()}\r\n`,
  );
}

async function storeDsn(to: string, data: { state?: "held" | "pending" | "sent"; attempts?: number; lastError?: string } = {}) {
  const raw = dsnText(to);
  const row = await getDb().dsn.create({
    data: { rcptTo: to, raw: new Uint8Array(raw), reason: "returned", state: data.state ?? "held", attempts: data.attempts ?? 0, lastError: data.lastError },
  });
  return { id: row.id, raw };
}

beforeAll(async () => {
  receiver = await startSmtpReceiver(
    { rcpt: (address) => (refuse && address.startsWith("refused") ? { code: 550, text: "5.1.1 no such sender" } : undefined) },
    { name: "smarthost.test.example" },
  );
  // this process's configuration, with the receiver as the smarthost
  process.env.SMARTHOST = `127.0.0.1:${receiver.port}`;
  process.env.MAIL_HOSTNAME = "mx.test.example";
  useConfig(process.env);
  customer = customerActor(await createCustomer(CLI_ACTOR, { name: "Somebody" }), "admin@somebody.example");
});

afterAll(async () => {
  await receiver?.close();
  delete process.env.SMARTHOST;
});

describe("the DSN queue", () => {
  it("reads held, failed, pending and sent from the stored state, and filters by them", async () => {
    const held = await storeDsn("held@origin.example");
    const failed = await storeDsn("failed@origin.example", { attempts: 1, lastError: "550 5.1.1 no" });
    const pending = await storeDsn("pending@origin.example", { state: "pending" });
    const sent = await storeDsn("sent@origin.example", { state: "sent", attempts: 1 });
    const all = await listDsns(STAFF);
    expect(Object.fromEntries(all.items.map((d) => [d.id, d.status]))).toEqual({
      [held.id]: "held",
      [failed.id]: "failed",
      [pending.id]: "pending",
      [sent.id]: "sent",
    });
    expect(all.counts).toEqual({ held: 1, failed: 1, pending: 1, sent: 1 });
    expect((await listDsns(STAFF, { status: "failed" })).items.map((d) => d.id)).toEqual([failed.id]);
    const detail = await getDsn(STAFF, held.id);
    expect(detail.text).toBe(held.raw.toString("utf8"));
    expect(detail.size).toBe(held.raw.length);
    await getDb().dsn.deleteMany();
  });

  it("is for staff only: a customer is refused every DSN, list and send", async () => {
    const { id } = await storeDsn("someone@origin.example");
    await expect(listDsns(customer)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(getDsn(customer, id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(sendDsnNow(customer, id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await getDb().dsn.findUniqueOrThrow({ where: { id } })).state).toBe("held");
    await expect(getDsn(STAFF, crypto.randomUUID())).rejects.toMatchObject({ code: "NOT_FOUND" });
    await getDb().dsn.deleteMany();
  });
});

describe("send now", () => {
  it("sends a held DSN with the null sender, records it, and never sends it again", async () => {
    const before = receiver.messages.length;
    const { id, raw } = await storeDsn("writer@origin.example");
    const result = await sendDsnNow(STAFF, id);
    expect(result).toMatchObject({ connectError: null, dsn: { status: "sent", attempts: 1 } });
    const [message] = await receiver.waitForMessages(before + 1);
    expect(message).toMatchObject({ mailFrom: "", rcptTo: ["writer@origin.example"] });
    expect(message.raw.equals(raw)).toBe(true);
    expect(await getDb().auditEvent.findFirst({ where: { action: "dsn.send", objectId: id } })).toMatchObject({ actorType: "staff", actorLabel: STAFF.label });
    await expect(sendDsnNow(STAFF, id)).rejects.toMatchObject({ code: "CONFLICT" });
    expect(receiver.messages.length).toBe(before + 1);
  });

  it("keeps a refused DSN as failed with the reply, and sends it once the cause is fixed", async () => {
    const { id } = await storeDsn("refused@origin.example");
    const first = await sendDsnNow(STAFF, id);
    expect(first.dsn.status).toBe("failed");
    expect(first.dsn.lastError).toMatch(/550/);
    // housekeeping does not retry a failed one on its own …
    expect((await sendStoredDsns(parseHostPort(process.env.SMARTHOST!), "mx.test.example")).sent).toBe(0);
    refuse = false;
    // … staff do, when the cause is fixed
    const second = await sendDsnNow(STAFF, id);
    expect(second.dsn).toMatchObject({ status: "sent", attempts: 2, lastError: null });
    expect(receiver.messages.filter((m) => m.rcptTo.includes("refused@origin.example")).length).toBe(1);
  });

  it("never sends a DSN twice when two senders run at once", async () => {
    const before = receiver.messages.length;
    const stored = await Promise.all(Array.from({ length: 6 }, (_, i) => storeDsn(`many${i}@origin.example`)));
    const smarthost = parseHostPort(process.env.SMARTHOST!);
    const reports = await Promise.all([
      sendStoredDsns(smarthost, "mx.test.example"),
      sendStoredDsns(smarthost, "mx.test.example"),
      sendStoredDsns(smarthost, "mx.test.example"),
    ]);
    expect(reports.reduce((n, r) => n + r.sent, 0)).toBe(stored.length);
    await receiver.waitForMessages(before + stored.length);
    // a moment for any duplicate to arrive
    await sleep(300);
    expect(receiver.messages.length).toBe(before + stored.length);
  });
});
