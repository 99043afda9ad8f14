// Housekeeping's history purge: finished mail, sent DSNs, ended sessions and delivered notifications
// older than HISTORY_DAYS go; held mail, recent history, unsent DSNs and notifications still being
// delivered stay. A deleted customer takes its notifications with it.
import { beforeAll, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer, deleteCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { purgeHistory } from "../../lib/queue/purge-history.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { domainId, makeCustomer } from "../helpers/fixtures.ts";

useTestDatabase();

const DAY = 86_400_000;
let to: (local: string) => { address: string; domainId: string; customerId: string };

beforeAll(async () => {
  const customer = await makeCustomer("History", ["history.example"]);
  to = (local) => ({ address: `${local}@history.example`, domainId: domainId(customer, "history.example"), customerId: customer.id });
});

async function message(recipients: string[]) {
  return storeMessage({ mailFrom: "s@sender.example", raw: Buffer.from("Subject: h\r\n\r\nbody\r\n"), recipients: recipients.map(to) });
}

it("removes finished history past the limit and keeps everything else", async () => {
  const now = Date.now();
  const later = new Date(now + 2.5 * DAY);
  const finished = await message(["a", "b"]);
  await getDb().delivery.updateMany({
    where: { messageId: finished, recipient: "a@history.example" },
    data: { state: "delivered", deliveredAt: new Date(now) },
  });
  await getDb().delivery.updateMany({
    where: { messageId: finished, recipient: "b@history.example" },
    data: { state: "bounced", lastAttemptAt: new Date(now) },
  });
  const stillHeld = await message(["c", "d"]);
  await getDb().delivery.updateMany({
    where: { messageId: stillHeld, recipient: "c@history.example" },
    data: { state: "delivered", deliveredAt: new Date(now) },
  });
  const recentlyDone = await message(["e"]);
  await getDb().delivery.updateMany({ where: { messageId: recentlyDone }, data: { state: "delivered", deliveredAt: later } });
  await getDb().dsn.createMany({
    data: [
      { rcptTo: "s@sender.example", raw: Buffer.from("x"), reason: "bounced", state: "sent", sentAt: new Date(now) },
      { rcptTo: "s@sender.example", raw: Buffer.from("y"), reason: "bounced", state: "held" },
    ],
  });
  await getDb().odmrSession.createMany({
    data: [
      { remoteAddress: "192.0.2.1", startedAt: new Date(now), endedAt: new Date(now) },
      { remoteAddress: "192.0.2.2", startedAt: later, endedAt: later },
      { remoteAddress: "192.0.2.3", startedAt: new Date(now) },
    ],
  });

  const said = async (subject: string, state: string, customerId: string | null = null) => {
    const n = await getDb().notification.create({ data: { customerId, condition: "test", subject, text: subject, data: {}, createdAt: new Date(now) } });
    await getDb().notificationDelivery.create({ data: { notificationId: n.id, customerId, channel: "email", target: "noc@isp.example", state } });
  };
  await said("sent long ago", "sent");
  await said("still being delivered", "pending");
  await getDb().notificationEpisode.createMany({
    data: [
      { condition: "test", objectKey: "closed", openedAt: new Date(now), closedAt: new Date(now) },
      { condition: "test", objectKey: "open", openedAt: new Date(now) },
    ],
  });

  // three days on, with one day of history kept
  const report = await purgeHistory(1, now + 3 * DAY);
  expect(report).toEqual({ messages: 1, dsns: 1, sessions: 1, notifications: 1 });
  expect((await getDb().notification.findMany()).map((n) => n.subject)).toEqual(["still being delivered"]);
  expect(await getDb().notificationDelivery.count()).toBe(1);
  expect((await getDb().notificationEpisode.findMany()).map((e) => e.objectKey)).toEqual(["open"]);
  const left = (await getDb().message.findMany({ select: { id: true } })).map((m) => m.id).sort();
  expect(left).toEqual([stillHeld, recentlyDone].sort());
  expect(await getDb().delivery.count({ where: { messageId: finished } })).toBe(0);
  expect(await getDb().messageBody.count({ where: { messageId: finished } })).toBe(0);
  expect((await getDb().dsn.findMany()).map((d) => d.state)).toEqual(["held"]);
  expect((await getDb().odmrSession.findMany({ orderBy: { remoteAddress: "asc" } })).map((s) => s.remoteAddress)).toEqual(["192.0.2.2", "192.0.2.3"]);

  // nothing is old enough today
  expect(await purgeHistory(1, now)).toEqual({ messages: 0, dsns: 0, sessions: 0, notifications: 0 });
});

it("a deleted customer's notifications, episodes and delivery log go with it; staff ones stay", async () => {
  const gone = await createCustomer(CLI_ACTOR, { name: "Short-lived" });
  const episode = await getDb().notificationEpisode.create({ data: { condition: "test", objectKey: "short-lived", customerId: gone.id } });
  for (const customerId of [gone.id, null]) {
    const n = await getDb().notification.create({
      data: { episodeId: customerId ? episode.id : null, customerId, condition: "test", subject: customerId ? "theirs" : "staff", text: "t", data: {} },
    });
    await getDb().notificationDelivery.create({
      data: { notificationId: n.id, customerId, channel: "webhook", target: "https://hook.example/", state: "sent" },
    });
  }
  await deleteCustomer(CLI_ACTOR, gone.id);
  expect(await getDb().notification.count({ where: { subject: "theirs" } })).toBe(0);
  expect(await getDb().notificationDelivery.count({ where: { customerId: gone.id } })).toBe(0);
  expect(await getDb().notificationEpisode.count({ where: { customerId: gone.id } })).toBe(0);
  expect(await getDb().notification.count({ where: { subject: "staff" } })).toBe(1);
});
