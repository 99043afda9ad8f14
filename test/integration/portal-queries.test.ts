// The portal's read models and queue actions in the shared core: tenant scoping with the other
// customer's ids, keyset paging, filters, and what the staff actions do to deliveries.
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../lib/actor.ts";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { fetchmailRc } from "../../lib/logins/fetchmail-rc.ts";
import { countHeldByCustomer } from "../../lib/queue/count-held.ts";
import { getMessageDetail } from "../../lib/queue/message-detail.ts";
import { bounceQueuedMessage, deleteQueuedMessage, getMessageRaw, releaseMessageLease } from "../../lib/queue/queue-actions.ts";
import { newQueueId, queueIdAt } from "../../lib/queue/queue-id.ts";
import { searchQueue } from "../../lib/queue/search-queue.ts";
import { listSessions } from "../../lib/sessions/list-sessions.ts";
import { getDashboardStats } from "../../lib/stats/dashboard-stats.ts";
import { createPortalUser, setPortalUserDisabled, verifyPortalLogin } from "../../lib/users/users.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { customerActor, domainId, holdMessage, makeCustomer, STAFF_ACTOR as STAFF, type TestCustomer } from "../helpers/fixtures.ts";
import { sleep } from "../helpers/sleep.ts";

useTestDatabase();

describe("portal queries and queue actions", () => {
  let a: TestCustomer, b: TestCustomer;
  let actorA: Actor;
  let bDomain: { id: string };
  let shared = "";
  const aMessages: string[] = [];

  beforeAll(async () => {
    a = await makeCustomer("Alpha", ["alpha.example"], { retentionDays: 7 });
    b = await makeCustomer("Beta", ["beta.example"]);
    bDomain = { id: domainId(b, "beta.example") };
    for (let i = 0; i < 7; i++) {
      const raw = Buffer.from(`Subject: alpha ${i}\r\n\r\nbody ${i}\r\n`);
      aMessages.push(
        await holdMessage([{ address: `u${i}@alpha.example`, customer: a }], raw, `sender${i}@outside.example`, {
          subject: i === 3 ? "100%_off sale" : `alpha ${i}`,
        }),
      );
      await sleep(2); // distinct arrival milliseconds
    }
    const both = Buffer.from("Subject: both\r\nTo: x@alpha.example, y@beta.example\r\n\r\nbody\r\n");
    shared = await holdMessage(
      [
        { address: "x@alpha.example", customer: a },
        { address: "y@beta.example", customer: b },
      ],
      both,
      "both@outside.example",
      { subject: "both" },
    );
    actorA = customerActor(a, "admin@alpha.example");
  });

  it("pages through the queue newest first, forwards and back, with the same rows", async () => {
    const first = await searchQueue(actorA, { limit: 3 });
    expect(first.count).toBe(8);
    expect(first.countCapped).toBe(false);
    expect(first.items.map((m) => m.id)).toEqual([shared, aMessages[6], aMessages[5]]);
    expect(first.newerCursor).toBeNull();
    const second = await searchQueue(actorA, { limit: 3, before: first.olderCursor! });
    expect(second.items.map((m) => m.id)).toEqual([aMessages[4], aMessages[3], aMessages[2]]);
    const third = await searchQueue(actorA, { limit: 3, before: second.olderCursor! });
    expect(third.items.map((m) => m.id)).toEqual([aMessages[1], aMessages[0]]);
    expect(third.olderCursor).toBeNull();
    const back = await searchQueue(actorA, { limit: 3, after: third.newerCursor! });
    expect(back.items.map((m) => m.id)).toEqual(second.items.map((m) => m.id));
    expect(first.items[1].expiresAt!.getTime() - first.items[1].receivedAt.getTime()).toBe(7 * 86_400_000);
  });

  it("filters by sender and by text, taking % and _ literally", async () => {
    expect((await searchQueue(STAFF, { sender: "sender4@" })).items.map((m) => m.id)).toEqual([aMessages[4]]);
    expect((await searchQueue(STAFF, { q: "100%_off" })).items.map((m) => m.id)).toEqual([aMessages[3]]);
    expect((await searchQueue(STAFF, { q: "100%_of_" })).count).toBe(0);
    expect((await searchQueue(STAFF, { q: "ALPHA 2" })).items.map((m) => m.id)).toEqual([aMessages[2]]);
  });

  it("filters by age through the time-ordered queue id", async () => {
    const at = Date.now();
    const id = newQueueId(at);
    expect(queueIdAt(at) <= id && id < queueIdAt(at + 1)).toBe(true);
    expect((await searchQueue(STAFF, { olderThanHours: 1 })).count).toBe(0);
    expect((await searchQueue(STAFF, { newerThanHours: 1 })).count).toBe(8);
  });

  it("confines a customer to its own deliveries whatever it asks for", async () => {
    expect((await searchQueue(actorA, { customerId: b.id })).count).toBe(0);
    await expect(searchQueue(actorA, { domain: bDomain.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(searchQueue(actorA, { domain: "beta.example" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    const own = await searchQueue(actorA, { limit: 1 });
    expect(own.items[0].deliveries.map((d) => d.recipient)).toEqual(["x@alpha.example"]);
    expect((await searchQueue(STAFF, { limit: 1 })).items[0].deliveries.map((d) => d.recipient)).toEqual(["x@alpha.example", "y@beta.example"]);

    const detail = await getMessageDetail(actorA, shared);
    expect(detail.deliveries.map((d) => d.recipient)).toEqual(["x@alpha.example"]);
    expect(detail.headers?.text).toBe("Subject: both\r\nTo: x@alpha.example, y@beta.example");
    const bOnly = await holdMessage([{ address: "y@beta.example", customer: b }], Buffer.from("Subject: b\r\n\r\nB\r\n"), "z@outside.example");
    await expect(getMessageDetail(actorA, bOnly)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(getMessageRaw(actorA, bOnly)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await getMessageRaw(actorA, shared)).toString()).toContain("Subject: both");
    expect(await countHeldByCustomer(actorA, [a.id, b.id])).toEqual(new Map([[a.id, 8]]));
    await expect(deleteQueuedMessage(actorA, aMessages[0])).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("lists only the customer's sessions, with their result", async () => {
    const [aLogin, bLogin] = [{ id: a.loginId }, { id: b.loginId }];
    await getDb().odmrSession.createMany({
      data: [
        { loginId: aLogin.id, customerId: a.id, loginName: "alpha", remoteAddress: "198.51.100.1", reply: "250 OK", startedAt: new Date(Date.now() - 3000) },
        {
          loginId: aLogin.id,
          customerId: a.id,
          loginName: "alpha",
          remoteAddress: "198.51.100.1",
          reply: "450 4.7.0 not yours",
          startedAt: new Date(Date.now() - 2000),
        },
        { loginId: bLogin.id, customerId: b.id, loginName: "beta", remoteAddress: "203.0.113.5", reply: "453 no mail", startedAt: new Date(Date.now() - 1000) },
      ],
    });
    const own = await listSessions(actorA, { limit: 1 });
    expect(own.items.map((s) => s.result)).toEqual(["refused"]);
    expect((await listSessions(actorA, { before: own.nextCursor! })).items.map((s) => s.result)).toEqual(["released"]);
    expect((await listSessions(actorA, { loginId: bLogin.id })).items).toEqual([]);
    expect((await listSessions(STAFF, { result: "no-mail" })).items.map((s) => s.customerName)).toEqual(["Beta"]);
    const stats = await getDashboardStats(STAFF, "day");
    expect(stats.sessions.buckets).toHaveLength(24);
    expect(stats.sessions.buckets.at(-1)).toMatchObject({ successful: 2, refused: 1 });
    expect(stats.heldMessages).toBe(9);
    expect(stats.topCustomers.map((c) => [c.name, c.held])).toEqual([
      ["Alpha", 8],
      ["Beta", 2],
    ]);
  });

  it("bounces held recipients with a DSN, releases leases, and refuses to delete what is being delivered", async () => {
    const [id] = aMessages;
    await getDb().delivery.updateMany({
      where: { messageId: id },
      data: { state: "delivering", leaseOwner: "mx1:123", leaseUntil: new Date(Date.now() + 600_000) },
    });
    await expect(deleteQueuedMessage(STAFF, id)).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(bounceQueuedMessage(STAFF, id)).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await releaseMessageLease(STAFF, id)).toBe(1);
    expect(await getDb().delivery.findFirst({ where: { messageId: id } })).toMatchObject({ state: "queued", leaseOwner: null, leaseUntil: null });
    expect(await bounceQueuedMessage(STAFF, id)).toBe(1);
    expect(await getDb().delivery.findFirst({ where: { messageId: id } })).toMatchObject({ state: "bounced" });
    const dsn = await getDb().dsn.findFirstOrThrow({ where: { messageId: id }, select: { rcptTo: true, raw: true, reason: true } });
    expect(dsn.rcptTo).toBe("sender0@outside.example");
    expect(Buffer.from(dsn.raw).toString()).toContain("Status: 5.0.0");
    expect(Buffer.from(dsn.raw).toString()).toContain("The mail service holding it for them returned it to you");
    expect(dsn.reason).toBe("returned");
    await expect(bounceQueuedMessage(STAFF, id)).rejects.toMatchObject({ code: "CONFLICT" });
    await deleteQueuedMessage(STAFF, id);
    await expect(getMessageDetail(STAFF, id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    const audit = await getDb().auditEvent.findMany({ where: { objectId: id }, orderBy: { id: "asc" } });
    expect(audit.map((e) => e.action)).toEqual(["queue.release", "queue.bounce", "queue.delete"]);
  });

  it("staff disable and enable portal users, never themselves; customers cannot", async () => {
    const { user } = await createPortalUser(CLI_ACTOR, { email: "admin@alpha.example", role: "customer", customer: a.id, password: "a-long-password-1" });
    await expect(setPortalUserDisabled(actorA, user.id, true)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(setPortalUserDisabled({ ...STAFF, id: user.id } as Actor, user.id, true)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await setPortalUserDisabled(STAFF, user.id, true);
    expect(await verifyPortalLogin("admin@alpha.example", "a-long-password-1")).toBeNull();
    await setPortalUserDisabled(STAFF, user.id, false);
    expect(await verifyPortalLogin("admin@alpha.example", "a-long-password-1")).toMatchObject({ id: user.id, role: "customer" });
    const audit = await getDb().auditEvent.findMany({ where: { objectId: user.id, action: { startsWith: "user." } }, orderBy: { id: "asc" } });
    expect(audit.map((e) => e.action)).toEqual(["user.create", "user.disable", "user.enable"]);
  });

  it("writes a fetchmail rc that quotes what it must", () => {
    expect(fetchmailRc({ host: "mx.isp.example", port: 366, login: "acme", secret: 'a"b\\c', domains: ["a.example", "b.example"] })).toContain(
      'user "acme" there with password "a\\"b\\\\c"\n  fetchdomains a.example,b.example\n',
    );
  });
});
