// The staff dashboard's figures: exact up to EXACT_UP_TO held deliveries, estimated from a sample
// past it (and marked so); and one rule for a successful session, shared by the session list and
// the chart (lib/sessions/session-result.ts), including an ETRN run that could not deliver.
import crypto from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { listSessions } from "../../lib/sessions/list-sessions.ts";
import { SESSION_RESULTS, sessionResult, SUCCESSFUL_RESULTS, SUCCESSFUL_SESSION_SQL } from "../../lib/sessions/session-result.ts";
import { EXACT_UP_TO, getDashboardStats } from "../../lib/stats/dashboard-stats.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { bulkHold, holdMessage, makeCustomer, STAFF_ACTOR as STAFF, type TestCustomer, testMessage } from "../helpers/fixtures.ts";

useTestDatabase();

describe("dashboard figures", () => {
  let small: TestCustomer, big: TestCustomer;

  beforeAll(async () => {
    small = await makeCustomer("Small", ["small.example"]);
    big = await makeCustomer("Big", ["big.example"]);
  });

  it("counts exactly while few are held", async () => {
    await holdMessage(
      [
        { address: "a@small.example", customer: small },
        { address: "b@small.example", customer: small },
      ],
      testMessage("one"),
    );
    const stats = await getDashboardStats(STAFF);
    expect(stats).toMatchObject({ heldMessages: 1, heldDeliveries: 2, heldEstimated: false });
    expect(stats.topCustomers.map((c) => [c.name, c.held])).toEqual([["Small", 2]]);
    expect(stats.setup).toEqual({ customers: 2, logins: 2, domains: 2, mailReceived: true });
  });

  it("estimates past the bound, close to the truth, and says so", async () => {
    // 30,000 messages of 2 recipients for Big: 6x the bound
    await bulkHold(big, "big.example", 30_000, 2);
    const stats = await getDashboardStats(STAFF);
    expect(stats.heldEstimated).toBe(true);
    const truth = { deliveries: 60_002, messages: 30_001, bytes: 30_000 * 1000 };
    expect(stats.heldDeliveries).toBeGreaterThan(EXACT_UP_TO);
    expect(Math.abs(stats.heldDeliveries - truth.deliveries) / truth.deliveries).toBeLessThan(0.15);
    expect(Math.abs(stats.heldMessages - truth.messages) / truth.messages).toBeLessThan(0.15);
    expect(Math.abs(stats.heldBytes - truth.bytes) / truth.bytes).toBeLessThan(0.2);
    expect(stats.topCustomers[0].name).toBe("Big");
    expect(Math.abs(stats.topCustomers[0].held - 60_000) / 60_000).toBeLessThan(0.15);
  });
});

describe("one rule for a successful session", () => {
  it("the chart's SQL and the session list agree on every kind of session, and a failed ETRN run is not a success", async () => {
    const cases: { reply: string | null; releaseFailed: boolean; kind: "atrn" | "etrn" }[] = [
      { reply: "250 OK now reversing the connection", releaseFailed: false, kind: "atrn" },
      { reply: "453 You have no mail", releaseFailed: false, kind: "atrn" },
      { reply: "450 4.7.0 not your domain", releaseFailed: false, kind: "atrn" },
      { reply: null, releaseFailed: false, kind: "atrn" },
      { reply: "250 OK, queuing for node a.example started", releaseFailed: false, kind: "etrn" },
      { reply: "251 OK, no messages waiting for node a.example", releaseFailed: false, kind: "etrn" },
      { reply: "252 OK, pending messages for node a.example started", releaseFailed: false, kind: "etrn" },
      { reply: "253 OK, 3 pending messages for node a.example started", releaseFailed: false, kind: "etrn" },
      { reply: "253 OK, 3 pending messages for node a.example started", releaseFailed: true, kind: "etrn" },
      { reply: "459 Node a.example not allowed", releaseFailed: false, kind: "etrn" },
    ];
    const ids = cases.map(() => crypto.randomUUID());
    await getDb().odmrSession.createMany({ data: cases.map((c, i) => ({ id: ids[i], remoteAddress: "192.0.2.1", ...c, domainsRequested: ["rule.example"] })) });
    const rows = await getDb().$queryRaw<{ id: string; successful: boolean }[]>`
      SELECT id::text, coalesce(${SUCCESSFUL_SESSION_SQL}, false) AS successful FROM odmr_session WHERE 'rule.example' = ANY(domains_requested)`;
    const bySql = new Map(rows.map((r) => [r.id, r.successful]));
    const results = cases.map((c) => sessionResult(c));
    expect(results).toEqual(["released", "no-mail", "refused", "no-atrn", "released", "no-mail", "released", "released", "failed", "refused"]);
    cases.forEach((_, i) => expect(bySql.get(ids[i])).toBe(SUCCESSFUL_RESULTS.includes(results[i])));
    // the list's filter by result finds each row under the result it shows
    for (const result of SESSION_RESULTS) {
      const listed = (await listSessions(STAFF, { domain: "rule.example", result })).items.map((s) => s.id).sort();
      expect(listed).toEqual(ids.filter((_, i) => results[i] === result).sort());
    }
    // the dashboard's chart counts the failed run as refused, not successful
    const today = (await getDashboardStats(STAFF, "day")).sessions.buckets.at(-1)!;
    expect(today).toEqual(expect.objectContaining({ successful: 6, refused: 4 }));
  });
});
