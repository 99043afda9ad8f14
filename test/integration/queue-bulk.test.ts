// Recipient search, bulk queue actions and the CSV export in the shared core: what is counted is
// what is done (and nothing that arrives after the count), the work goes in bounded batches with
// one audit row, and a customer's bulk action never reaches another customer's mail, whatever ids
// it sends.
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { queueCsvLines } from "../../lib/queue/export-queue.ts";
import { countBulkQueueAction, runBulkQueueAction } from "../../lib/queue/queue-actions.ts";
import { searchQueue } from "../../lib/queue/search-queue.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { customerActor, domainId, makeCustomer, STAFF_ACTOR as STAFF } from "../helpers/fixtures.ts";
import { sleep } from "../helpers/sleep.ts";

useTestDatabase();

async function collect(lines: AsyncGenerator<string>): Promise<string> {
  let out = "";
  for await (const l of lines) out += l;
  return out;
}

describe("recipient search, bulk queue actions and the CSV export", () => {
  let a: { id: string }, b: { id: string };
  let actorA: Actor, actorB: Actor;
  let aDomain: { id: string }, bDomain: { id: string };

  async function held(
    customer: { id: string },
    domain: { id: string },
    local: string,
    subject = local,
    extra: { address: string; domainId: string; customerId: string }[] = [],
  ) {
    const name = customer === a ? "alpha.example" : "beta.example";
    const id = await storeMessage({
      mailFrom: `from-${local}@outside.example`,
      raw: Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`),
      summary: { subject },
      recipients: [{ address: `${local}@${name}`, domainId: domain.id, customerId: customer.id }, ...extra],
    });
    await sleep(2); // distinct arrival milliseconds
    return id;
  }

  async function states(id: string) {
    return (await getDb().delivery.findMany({ where: { messageId: id }, orderBy: { recipient: "asc" }, select: { recipient: true, state: true } })).map(
      (d) => `${d.recipient}:${d.state}`,
    );
  }

  beforeAll(async () => {
    const alpha = await makeCustomer("Alpha", ["alpha.example"]);
    const beta = await makeCustomer("Beta", ["beta.example"]);
    [a, b] = [alpha, beta];
    aDomain = { id: domainId(alpha, "alpha.example") };
    bDomain = { id: domainId(beta, "beta.example") };
    actorA = customerActor(alpha, "admin@alpha.example");
    actorB = customerActor(beta, "admin@beta.example");
  });

  it("searches by recipient (substring or prefix, % and _ literal), combined with the other filters", async () => {
    const sales = await held(a, aDomain, "sales", "quote");
    const salesB = await held(b, bDomain, "sales", "quote");
    const presales = await held(a, aDomain, "presales", "other");
    const odd = await held(a, aDomain, "s_1");
    expect((await searchQueue(STAFF, { recipient: "sales@" })).items.map((m) => m.id)).toEqual([presales, salesB, sales]);
    expect((await searchQueue(STAFF, { recipient: "SALES@ALPHA" })).items.map((m) => m.id)).toEqual([presales, sales]);
    expect((await searchQueue(STAFF, { recipient: "sales@", q: "quote" })).items.map((m) => m.id)).toEqual([salesB, sales]);
    expect((await searchQueue(STAFF, { recipient: "sales@", customerId: b.id })).items.map((m) => m.id)).toEqual([salesB]);
    expect((await searchQueue(STAFF, { recipient: "s_1@" })).items.map((m) => m.id)).toEqual([odd]);
    expect((await searchQueue(STAFF, { recipient: "s_" })).items.map((m) => m.id)).toEqual([odd]);
    // the other customer's mail is not found by a customer's search, however exact
    expect((await searchQueue(actorA, { recipient: "sales@beta.example" })).count).toBe(0);
    expect((await searchQueue(actorB, { recipient: "sales@" })).items.map((m) => m.id)).toEqual([salesB]);
    await getDb().message.deleteMany({ where: { id: { in: [sales, salesB, presales, odd] } } });
  });

  it("bulk-bounces exactly what it counted, in batches, with DSNs and one audit row, and not mail that came after", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await held(a, aDomain, `bulk${i}`));
    const other = await held(a, aDomain, "keep");
    const filter = { recipient: "bulk" };
    const counted = await countBulkQueueAction(STAFF, { action: "bounce", filter });
    expect(counted).toEqual({ count: 7, upTo: ids[6] });
    const late = await held(a, aDomain, "bulk-late"); // matches the filter, but arrived after the confirmation
    const auditBefore = await getDb().auditEvent.count({ where: { action: "queue.bulk_bounce" } });
    const outcome = await runBulkQueueAction(STAFF, { action: "bounce", filter, upTo: counted.upTo!, batchSize: 3 });
    expect(outcome).toEqual({ messages: 7, deliveries: 7, batches: 3 });
    for (const id of ids) expect(await states(id)).toEqual([expect.stringMatching(/:bounced$/)]);
    expect(await states(late)).toEqual(["bulk-late@alpha.example:queued"]);
    expect(await states(other)).toEqual(["keep@alpha.example:queued"]);
    expect(await getDb().dsn.count({ where: { messageId: { in: ids }, reason: "returned" } })).toBe(7);
    const audits = await getDb().auditEvent.findMany({ where: { action: "queue.bulk_bounce" }, orderBy: { id: "asc" } });
    expect(audits.length).toBe(auditBefore + 1);
    expect(audits.at(-1)).toMatchObject({
      customerId: a.id,
      objectType: "queue",
      details: { filter: { state: "held", recipient: "bulk" }, allMatching: true, upTo: ids[6], messages: 7, deliveries: 7 },
    });
    // nothing held matches any more (the late one is past upTo), so a second run changes nothing
    expect(await runBulkQueueAction(STAFF, { action: "bounce", filter, upTo: counted.upTo! })).toMatchObject({ messages: 0, deliveries: 0 });
    await expect(runBulkQueueAction(STAFF, { action: "bounce", filter })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await getDb().message.deleteMany({ where: { id: { in: [...ids, other, late] } } });
  });

  it("leaves a delivery on the wire alone when bouncing or deleting, and releases only leased ones", async () => {
    const free = await held(a, aDomain, "lease-free");
    const live = await held(a, aDomain, "lease-live");
    const stale = await held(a, aDomain, "lease-stale");
    await getDb().delivery.updateMany({
      where: { messageId: live },
      data: { state: "delivering", leaseOwner: "m1", leaseUntil: new Date(Date.now() + 600_000) },
    });
    await getDb().delivery.updateMany({
      where: { messageId: stale },
      data: { state: "delivering", leaseOwner: "m0", leaseUntil: new Date(Date.now() - 600_000) },
    });
    const filter = { recipient: "lease-" };
    expect((await countBulkQueueAction(STAFF, { action: "delete", filter })).count).toBe(2);
    expect((await countBulkQueueAction(STAFF, { action: "release", filter })).count).toBe(2);
    const released = await countBulkQueueAction(STAFF, { action: "release", filter });
    expect(await runBulkQueueAction(STAFF, { action: "release", filter, upTo: released.upTo! })).toMatchObject({ messages: 2, deliveries: 2 });
    expect(await states(live)).toEqual(["lease-live@alpha.example:queued"]);
    expect(await states(stale)).toEqual(["lease-stale@alpha.example:queued"]);
    const bySelection = await runBulkQueueAction(STAFF, { action: "delete", filter: {}, ids: [free] });
    expect(bySelection).toMatchObject({ messages: 1, deliveries: 1 });
    expect(await getDb().message.findUnique({ where: { id: free } })).toBeNull();
    await getDb().message.deleteMany({ where: { id: { in: [live, stale] } } });
  });

  it("the other customer's id: a customer's bulk action finds nothing and changes nothing", async () => {
    const mine = await held(a, aDomain, "iso-a");
    const theirs = await held(b, bDomain, "iso-b");
    const shared = await held(a, aDomain, "iso-shared", "shared", [{ address: "iso-shared@beta.example", domainId: bDomain.id, customerId: b.id }]);
    for (const action of ["bounce", "delete", "release"] as const) {
      await expect(runBulkQueueAction(actorA, { action, filter: {}, ids: [theirs] })).rejects.toMatchObject({ code: "NOT_FOUND" });
      // one forged id among the customer's own spoils the whole selection
      await expect(runBulkQueueAction(actorA, { action, filter: {}, ids: [mine, theirs] })).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(countBulkQueueAction(actorA, { action, filter: {}, ids: [theirs] })).rejects.toMatchObject({ code: "NOT_FOUND" });
      // the other customer as a filter: the customer's own scope still applies, so nothing matches
      expect(await countBulkQueueAction(actorA, { action, filter: { customerId: b.id } })).toEqual({ count: 0, upTo: null });
      await expect(countBulkQueueAction(actorA, { action, filter: { domain: bDomain.id } })).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
    expect(await states(mine)).toEqual(["iso-a@alpha.example:queued"]);
    expect(await states(theirs)).toEqual(["iso-b@beta.example:queued"]);
    // "all matching" for customer A reaches A's half of a shared message only
    const all = await countBulkQueueAction(actorA, { action: "bounce", filter: { recipient: "iso-" } });
    expect(all.count).toBe(2);
    expect(await runBulkQueueAction(actorA, { action: "bounce", filter: { recipient: "iso-" }, upTo: all.upTo! })).toMatchObject({
      messages: 2,
      deliveries: 2,
    });
    expect(await states(shared)).toEqual(["iso-shared@alpha.example:bounced", "iso-shared@beta.example:queued"]);
    expect(await states(theirs)).toEqual(["iso-b@beta.example:queued"]);
    // deleting A's half keeps the message for B
    const sharedB = await held(a, aDomain, "iso-del", "shared", [{ address: "iso-del@beta.example", domainId: bDomain.id, customerId: b.id }]);
    expect(await runBulkQueueAction(actorA, { action: "delete", filter: {}, ids: [sharedB] })).toMatchObject({ messages: 1, deliveries: 1 });
    expect(await states(sharedB)).toEqual(["iso-del@beta.example:queued"]);
    expect((await searchQueue(actorB, { recipient: "iso-del" })).items.map((m) => m.id)).toEqual([sharedB]);
    const audit = await getDb().auditEvent.findFirst({ where: { action: "queue.bulk_delete", actorLabel: "admin@alpha.example" }, orderBy: { id: "desc" } });
    expect(audit).toMatchObject({ customerId: a.id, details: { selected: 1, ids: [sharedB], messages: 1 } });
    await getDb().message.deleteMany({ where: { id: { in: [mine, theirs, shared, sharedB] } } });
  });

  it("exports the filtered list as CSV, page by page, with formulas neutralised and only the customer's own rows", async () => {
    const plain = await held(a, aDomain, "csv1", "Invoice, March");
    const formula = await held(a, aDomain, "csv2", '=HYPERLINK("http://x.example")');
    const theirs = await held(b, bDomain, "csv3");
    await getDb().delivery.updateMany({ where: { messageId: plain }, data: { lastError: "451 4.4.1 try later" } });
    const own = await collect(queueCsvLines(actorA, { recipient: "csv" }, 1));
    const lines = own.trimEnd().split("\r\n");
    expect(lines[0]).toBe("queue_id,received,sender,subject,recipient,state,attempts,last_error,domain,expires");
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual([formula, plain]);
    expect(lines[1]).toContain(`,"'=HYPERLINK(""http://x.example"")",csv2@alpha.example,queued,0,,alpha.example,`);
    expect(lines[2]).toContain(`,"Invoice, March",csv1@alpha.example,queued,0,451 4.4.1 try later,alpha.example,`);
    expect(own).not.toContain("beta.example");
    const staff = await collect(queueCsvLines(STAFF, { recipient: "csv" }, 2));
    expect(staff.split("\r\n")[0]).toContain(",domain,customer,expires");
    expect(staff).toContain(`${theirs},`);
    expect(staff).toContain(",beta.example,Beta,");
    await getDb().message.deleteMany({ where: { id: { in: [plain, formula, theirs] } } });
  });
});
