// A claimed delivery's lease: an owner is set exactly while the delivery is being delivered (a
// check in the schema), and the statements that record a session's results find its rows by id
// and owner through the primary key, even where the state statistics make a state index look
// cheaper. After a long drain those indexes hold a dead 'delivering' entry for every delivery
// sent; a plan that walks them makes each result cost more the more has been delivered.
import { beforeAll, describe, expect, it } from "vitest";
import { queueQuery, queueTransaction } from "../../lib/db/pg-pool.ts";
import { claimDeliveries } from "../../lib/queue/claim-deliveries.ts";
import { DELIVERED_SQL, recordDeliveryResults, UPDATE_CTE } from "../../lib/queue/record-delivery-results.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { domainId, holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";

useTestDatabase();

const OWNER = "mx1.test:1:session";

/** Claims what the domain holds (up to 200 deliveries) for OWNER. */
function claimAll(customer: TestCustomer, domain: string) {
  return claimDeliveries({
    owner: OWNER,
    customerId: customer.id,
    domainIds: [domainId(customer, domain)],
    limit: 200,
    leaseSeconds: 600,
    attemptedBefore: new Date(Date.now() + 60_000),
  });
}

/**
 * Every index the plan of `sql` reads (EXPLAIN with `params`, or the generic plan without). The
 * table here is small, so sequential scans are ruled out: the choice left is between indexes, as
 * on a queue of millions.
 */
async function indexesRead(sql: string, params?: unknown[]): Promise<string[]> {
  const rows = await queueTransaction(async (query) => {
    await query("SET LOCAL enable_seqscan = off");
    return query<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON${params ? "" : ", GENERIC_PLAN"}) ${sql}`, params ?? []);
  });
  const names: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "Index Name") names.push(String(value));
        else walk(value);
      }
    }
  };
  walk(rows[0]["QUERY PLAN"]);
  return names;
}

describe("delivery leases", () => {
  let customer: TestCustomer;

  beforeAll(async () => {
    customer = await makeCustomer("Leases", ["leases.example"]);
  });

  it("a delivery has a lease owner exactly while it is being delivered", async () => {
    const messageId = await holdMessage([{ address: "one@leases.example", customer }], testMessage("lease rule"));
    const violation = /delivery_lease_while_delivering/;
    await expect(queueQuery("UPDATE delivery SET lease_owner = $2 WHERE message_id = $1", [messageId, OWNER])).rejects.toThrow(violation);
    await expect(queueQuery("UPDATE delivery SET state = 'delivering' WHERE message_id = $1", [messageId])).rejects.toThrow(violation);
    await queueQuery("UPDATE delivery SET state = 'delivering', lease_owner = $2 WHERE message_id = $1", [messageId, OWNER]);
    await expect(queueQuery("UPDATE delivery SET state = 'delivered' WHERE message_id = $1", [messageId])).rejects.toThrow(violation);
    await queueQuery("UPDATE delivery SET state = 'delivered', lease_owner = NULL WHERE message_id = $1", [messageId]);
  });

  it("recording results reads the primary key, not a state index, after a long drain", async () => {
    for (let i = 0; i < 120; i++) await holdMessage([{ address: `user${i % 7}@leases.example`, customer }], testMessage(`drain ${i}`));
    const claimed = await claimAll(customer, "leases.example");
    expect(claimed.length).toBeGreaterThanOrEqual(120);
    // all but two delivered: the statistics see almost no row in 'delivering'
    for (const message of claimed.slice(2)) {
      const recorded = await recordDeliveryResults(OWNER, [
        {
          messageId: message.messageId,
          exclusive: message.exclusive,
          results: message.deliveries.map((d) => ({ deliveryId: d.id, outcome: "delivered" as const })),
        },
      ]);
      expect(recorded).toEqual([{ updated: 1, purged: true }]);
    }
    await queueQuery("ANALYZE delivery");
    const [left] = claimed;
    const ids = left.deliveries.map((d) => d.id);
    const statements = [
      { sql: DELIVERED_SQL, params: [ids, OWNER, [left.messageId], [ids.length]] },
      { sql: `${UPDATE_CTE} SELECT count(*) FROM upd`, params: [ids, ["deferred"], ["451 try later"], OWNER] },
    ];
    for (const { sql, params } of statements) {
      for (const read of [await indexesRead(sql, params), await indexesRead(sql)]) {
        expect(read).toContain("delivery_pkey");
        expect(read.filter((name) => name.startsWith("delivery_") && name.includes("state"))).toEqual([]);
      }
    }
  });

  it("records several messages' results at once: each message's bytes go only when all of its rows were still ours", async () => {
    const batch = await makeCustomer("Batch", ["batch.example"]);
    const both = await holdMessage(
      ["a", "b"].map((local) => ({ address: `${local}@batch.example`, customer: batch })),
      testMessage("both delivered"),
    );
    const stolen = await holdMessage([{ address: "c@batch.example", customer: batch }], testMessage("lease lost"));
    const deferred = await holdMessage([{ address: "d@batch.example", customer: batch }], testMessage("deferred"));
    const claimed = await claimAll(batch, "batch.example");
    expect(claimed.map((m) => m.messageId)).toEqual([both, stolen, deferred]);
    // a staff "release lease" and another session's claim took this one meanwhile
    await queueQuery("UPDATE delivery SET lease_owner = 'mx2.test:1:other' WHERE message_id = $1", [stolen]);
    const delivered = (m: (typeof claimed)[number]) => m.deliveries.map((d) => ({ deliveryId: d.id, outcome: "delivered" as const }));
    const recorded = await recordDeliveryResults(OWNER, [
      { messageId: both, exclusive: true, results: delivered(claimed[0]) },
      { messageId: stolen, exclusive: true, results: delivered(claimed[1]) },
      { messageId: deferred, exclusive: true, results: [{ deliveryId: claimed[2].deliveries[0].id, outcome: "deferred", error: "451 4.3.0 later" }] },
    ]);
    expect(recorded).toEqual([
      { updated: 2, purged: true },
      { updated: 0, purged: false },
      { updated: 1, purged: false },
    ]);
    const states = await queueQuery<{ message_id: string; state: string; lease_owner: string | null; has_body: boolean }>(
      `SELECT d.message_id, d.state, d.lease_owner, EXISTS (SELECT 1 FROM message_body b WHERE b.message_id = d.message_id) AS has_body
       FROM delivery d WHERE d.customer_id = $1 ORDER BY d.id`,
      [batch.id],
    );
    expect(states).toEqual([
      { message_id: both, state: "delivered", lease_owner: null, has_body: false },
      { message_id: both, state: "delivered", lease_owner: null, has_body: false },
      { message_id: stolen, state: "delivering", lease_owner: "mx2.test:1:other", has_body: true },
      { message_id: deferred, state: "queued", lease_owner: null, has_body: true },
    ]);
  });
  it("records a batch all or nothing: when one message's result is refused, none is written, and the batch written again finds every row still ours", async () => {
    const atomic = await makeCustomer("Atomic", ["atomic.example"]);
    const delivered = await holdMessage([{ address: "a@atomic.example", customer: atomic }], testMessage("delivered"));
    const bounced = await holdMessage([{ address: "b@atomic.example", customer: atomic }], testMessage("bounced"));
    const claimed = await claimAll(atomic, "atomic.example");
    expect(claimed.map((m) => m.messageId)).toEqual([delivered, bounced]);
    const batch = [
      { messageId: delivered, exclusive: true, results: [{ deliveryId: claimed[0].deliveries[0].id, outcome: "delivered" as const }] },
      {
        messageId: bounced,
        exclusive: true,
        results: [{ deliveryId: claimed[1].deliveries[0].id, outcome: "bounced" as const, error: "550 5.1.1 no such user" }],
        dsn: { rcptTo: "sender@example.net", raw: Buffer.from("Subject: bounce\r\n\r\nbounced\r\n"), state: "pending" as const },
      },
    ];
    // the bounce's DSN is refused: the delivered message before it in the batch is not written either
    await queueQuery(`CREATE FUNCTION test_refuse_dsn() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'dsn refused for the test'; END $$`);
    await queueQuery("CREATE TRIGGER test_refuse_dsn BEFORE INSERT ON dsn FOR EACH ROW EXECUTE FUNCTION test_refuse_dsn()");
    try {
      await expect(recordDeliveryResults(OWNER, batch)).rejects.toThrow(/dsn refused for the test/);
    } finally {
      await queueQuery("DROP TRIGGER test_refuse_dsn ON dsn");
      await queueQuery("DROP FUNCTION test_refuse_dsn()");
    }
    const states = () =>
      queueQuery<{ message_id: string; state: string; lease_owner: string | null; has_body: boolean }>(
        `SELECT d.message_id, d.state, d.lease_owner, EXISTS (SELECT 1 FROM message_body b WHERE b.message_id = d.message_id) AS has_body
         FROM delivery d WHERE d.customer_id = $1 ORDER BY d.id`,
        [atomic.id],
      );
    expect(await states()).toEqual([
      { message_id: delivered, state: "delivering", lease_owner: OWNER, has_body: true },
      { message_id: bounced, state: "delivering", lease_owner: OWNER, has_body: true },
    ]);
    expect(await recordDeliveryResults(OWNER, batch)).toEqual([
      { updated: 1, purged: true },
      { updated: 1, purged: true },
    ]);
    expect(await states()).toEqual([
      { message_id: delivered, state: "delivered", lease_owner: null, has_body: false },
      { message_id: bounced, state: "bounced", lease_owner: null, has_body: false },
    ]);
    expect(await queueQuery("SELECT rcpt_to, reason FROM dsn WHERE message_id = $1", [bounced])).toEqual([
      { rcpt_to: "sender@example.net", reason: "bounced" },
    ]);
  });
});
