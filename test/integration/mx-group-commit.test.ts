// The MX's durable store (lib/queue/store-message.ts) against the real PostgreSQL: messages that
// arrive together share a transaction, one bad message does not take its batch-mates down, and
// the bytes and times come back as written.
import crypto from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { storeMessage, type ResolvedRecipient } from "../../lib/queue/store-message.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { domainId, makeCustomer } from "../helpers/fixtures.ts";

useTestDatabase();

let recipient: ResolvedRecipient;

beforeAll(async () => {
  const customer = await makeCustomer("Batch", ["batch.example"]);
  recipient = { address: "u@batch.example", domainId: domainId(customer, "batch.example"), customerId: customer.id };
});

describe("group commit", () => {
  it("commits messages that arrive together in shared transactions", async () => {
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        storeMessage({ mailFrom: `together${i}@example.org`, raw: Buffer.from(`Subject: ${i}\r\n\r\nbody\r\n`), recipients: [recipient] }),
      ),
    );
    expect(new Set(ids).size).toBe(40);
    // rows written by one transaction share its xmin
    const rows = await getDb().$queryRaw<{ transactions: bigint; messages: bigint }[]>`
      SELECT count(DISTINCT xmin::text) AS transactions, count(*) AS messages FROM message WHERE mail_from LIKE 'together%'`;
    expect(Number(rows[0].messages)).toBe(40);
    expect(Number(rows[0].transactions)).toBeLessThan(40);
    expect(await getDb().delivery.count({ where: { messageId: { in: ids } } })).toBe(40);
  });

  it("fails only the bad message of a batch", async () => {
    const good = Array.from({ length: 20 }, (_, i) =>
      storeMessage({ mailFrom: `good${i}@example.org`, raw: Buffer.from("Subject: good\r\n\r\nbody\r\n"), recipients: [recipient] }),
    );
    // a domain that does not exist (say, deleted since RCPT): the foreign key refuses it
    const bad = storeMessage({
      mailFrom: "bad@example.org",
      raw: Buffer.from("Subject: bad\r\n\r\nbody\r\n"),
      recipients: [{ ...recipient, domainId: crypto.randomUUID() }],
    });
    const results = await Promise.allSettled([...good, bad]);
    expect(results.slice(0, 20).every((r) => r.status === "fulfilled")).toBe(true);
    expect(results[20]).toMatchObject({ status: "rejected", reason: { code: "INTERNAL" } });
    expect(await getDb().message.count({ where: { mailFrom: { startsWith: "good" } } })).toBe(20);
    expect(await getDb().message.count({ where: { mailFrom: "bad@example.org" } })).toBe(0);
  });

  it("keeps every byte value, the summary, and the arrival time in UTC", async () => {
    const raw = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const before = Date.now();
    const id = await storeMessage({
      mailFrom: "",
      raw,
      recipients: [recipient, { ...recipient, address: "v@batch.example" }],
      smtputf8: true,
      bodyType: "8BITMIME",
      summary: { from: "Zoë <z@example.org>", subject: 'Ünïcödé, "quoted", {braces}', messageId: null, date: "NULL" },
    });
    const message = await getDb().message.findUniqueOrThrow({ where: { id }, include: { body: { select: { raw: true } }, deliveries: true } });
    expect(Buffer.compare(Buffer.from(message.body!.raw), raw)).toBe(0);
    expect(message).toMatchObject({
      mailFrom: "",
      size: 512,
      smtputf8: true,
      bodyType: "8BITMIME",
      fromHeader: "Zoë <z@example.org>",
      subject: 'Ünïcödé, "quoted", {braces}',
      messageIdHdr: null,
      dateHeader: "NULL",
    });
    expect(Math.abs(message.receivedAt.getTime() - before)).toBeLessThan(60_000);
    expect(message.deliveries.map((d) => d.recipient).sort()).toEqual(["u@batch.example", "v@batch.example"]);
    expect(message.deliveries.every((d) => Math.abs(d.createdAt.getTime() - before) < 60_000)).toBe(true);
  });
});
