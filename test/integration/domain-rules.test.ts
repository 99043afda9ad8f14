// The rules that have one home each hold in every form they are used in: "held" as the
// TypeScript predicate, the SQL fragment and the Prisma filter (lib/queue/delivery-state.ts);
// "ETRN-ready" as the predicate and the Prisma filter (lib/etrn/etrn-ready.ts); and the expiry
// time the portal shows (lib/queue/expiry-time.ts) against what expiry really takes.
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { queueQuery } from "../../lib/db/pg-pool.ts";
import { ETRN_CONFIGURED_WHERE, ETRN_READY_WHERE, etrnConfigured, etrnReady } from "../../lib/etrn/etrn-ready.ts";
import { DELIVERY_STATES, HELD_WHERE, heldPrismaSql, heldSql, isHeld } from "../../lib/queue/delivery-state.ts";
import { expireHeldMail } from "../../lib/queue/expire-held-mail.ts";
import { getMessageDetail } from "../../lib/queue/message-detail.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";

useTestDatabase();

const STAFF: Actor = { type: "staff", id: "00000000-0000-0000-0000-0000000000aa", label: "ops@isp.example" };

const sorted = (ids: Iterable<bigint | string>) => [...ids].map(String).sort();

describe("one rule, every form of it", () => {
  let customer: TestCustomer;

  beforeAll(async () => {
    customer = await makeCustomer("Rules", ["rules.example", "short.example"], { retentionDays: 5 });
  });

  it("held: the predicate, the SQL and the Prisma filter pick the same deliveries, the queued and delivering ones", async () => {
    const recipients = DELIVERY_STATES.map((state) => ({ address: `${state}@rules.example`, customer }));
    const messageId = await holdMessage(recipients, testMessage("every state"));
    const db = getDb();
    for (const state of DELIVERY_STATES) {
      // only a delivering row has a lease owner (the delivery_lease_while_delivering check)
      const leaseOwner = state === "delivering" ? "mx1:test" : null;
      await db.delivery.updateMany({ where: { messageId, recipient: `${state}@rules.example` }, data: { state, leaseOwner } });
    }
    const rows = await db.delivery.findMany({ where: { messageId }, select: { id: true, state: true } });
    expect(rows.map((r) => r.state).sort()).toEqual([...DELIVERY_STATES].sort());
    const byPredicate = sorted(rows.filter((r) => isHeld(r.state)).map((r) => r.id));
    expect(byPredicate).toEqual(sorted(rows.filter((r) => r.state === "queued" || r.state === "delivering").map((r) => r.id)));
    const bySql = await queueQuery<{ id: string }>(`SELECT d.id::text AS id FROM delivery d WHERE d.message_id = $1 AND ${heldSql("d")}`, [messageId]);
    const byBareSql = await queueQuery<{ id: string }>(`SELECT id::text AS id FROM delivery WHERE message_id = $1 AND ${heldSql()}`, [messageId]);
    const byPrismaSql = await db.$queryRaw<{ id: bigint }[]>`SELECT d.id FROM delivery d WHERE d.message_id = ${messageId} AND ${heldPrismaSql("d")}`;
    const byFilter = await db.delivery.findMany({ where: { messageId, ...HELD_WHERE }, select: { id: true } });
    expect(sorted(bySql.map((r) => r.id))).toEqual(byPredicate);
    expect(sorted(byBareSql.map((r) => r.id))).toEqual(byPredicate);
    expect(sorted(byPrismaSql.map((r) => r.id))).toEqual(byPredicate);
    expect(sorted(byFilter.map((r) => r.id))).toEqual(byPredicate);
  });

  it("ETRN-ready: the predicate and the filter agree on every combination of switch, target and customer status", async () => {
    const db = getDb();
    const active = await makeCustomer("EtrnActive", [
      "on-target.active.example",
      "on-none.active.example",
      "off-target.active.example",
      "off-none.active.example",
    ]);
    const suspended = await makeCustomer("EtrnSuspended", [
      "on-target.suspended.example",
      "on-none.suspended.example",
      "off-target.suspended.example",
      "off-none.suspended.example",
    ]);
    await db.customer.update({ where: { id: suspended.id }, data: { status: "suspended" } });
    const names = [...active.domains.keys(), ...suspended.domains.keys()];
    for (const name of names) {
      // straight into the row: updateDomain refuses ETRN without a target, but the rule must hold for any row
      await db.domain.update({
        where: { name },
        data: { etrnEnabled: name.startsWith("on-"), etrnTarget: name.includes("-target.") ? "127.0.0.1:2525" : null },
      });
    }
    const domains = await db.domain.findMany({ where: { name: { in: names } }, include: { customer: { select: { status: true } } } });
    const ready = domains.filter((d) => etrnReady(d)).map((d) => d.name);
    const configured = domains
      .filter((d) => etrnConfigured(d))
      .map((d) => d.name)
      .sort();
    expect(ready).toEqual(["on-target.active.example"]);
    expect(configured).toEqual(["on-target.active.example", "on-target.suspended.example"]);
    const readyRows = await db.domain.findMany({ where: { name: { in: names }, ...ETRN_READY_WHERE }, select: { name: true } });
    const configuredRows = await db.domain.findMany({ where: { name: { in: names }, ...ETRN_CONFIGURED_WHERE }, select: { name: true } });
    expect(readyRows.map((d) => d.name)).toEqual(ready);
    expect(configuredRows.map((d) => d.name).sort()).toEqual(configured);
  });

  it("expiry: the time the portal shows is when expiry takes the mail, at the shortest retention of its held domains", async () => {
    const db = getDb();
    await db.domain.update({ where: { name: "short.example" }, data: { retentionDays: 2 } });
    const early = await holdMessage(
      [
        { address: "a@rules.example", customer },
        { address: "b@short.example", customer },
      ],
      testMessage("just before"),
    );
    const late = await holdMessage(
      [
        { address: "c@rules.example", customer },
        { address: "d@short.example", customer },
      ],
      testMessage("just after"),
    );
    // arrived 2 days less (more) a minute ago
    for (const [id, age] of [
      [early, "2 days - 1 minute"],
      [late, "2 days + 1 minute"],
    ]) {
      await db.$executeRawUnsafe(`UPDATE message SET received_at = received_at - interval '${age}' WHERE id = $1`, id);
      await db.$executeRawUnsafe(`UPDATE delivery SET created_at = created_at - interval '${age}' WHERE message_id = $1`, id);
    }
    const now = Date.now();
    const earlyExpiry = (await getMessageDetail(STAFF, early)).expiresAt!.getTime();
    const lateExpiry = (await getMessageDetail(STAFF, late)).expiresAt!.getTime();
    expect(earlyExpiry - now).toBeGreaterThan(0);
    expect(earlyExpiry - now).toBeLessThan(61_000);
    expect(now - lateExpiry).toBeGreaterThan(0);
    expect(now - lateExpiry).toBeLessThan(61_000);
    await expireHeldMail({ reportingMta: "mx.test.example", dsnState: "held" });
    const states = await db.delivery.findMany({
      where: { messageId: { in: [early, late] } },
      select: { recipient: true, state: true },
      orderBy: { recipient: "asc" },
    });
    expect(states).toEqual([
      { recipient: "a@rules.example", state: "queued" },
      { recipient: "b@short.example", state: "queued" },
      { recipient: "c@rules.example", state: "queued" },
      { recipient: "d@short.example", state: "expired" },
    ]);
    // with its short-retention recipient gone, the message now expires at the longer retention
    expect((await getMessageDetail(STAFF, late)).expiresAt!.getTime()).toBe(lateExpiry + 3 * 86_400_000);
  });
});
