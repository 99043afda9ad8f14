// Housekeeping's history purge: finished mail, sent DSNs and ended sessions older than
// HISTORY_DAYS go; held mail, recent history and unsent DSNs stay.
import { beforeAll, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { purgeHistory } from "../../lib/queue/purge-history.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";
import { useTestDatabase } from "../helpers/database.ts";

useTestDatabase();

const DAY = 86_400_000;
let to: (local: string) => { address: string; domainId: string; customerId: string };

beforeAll(async () => {
  const customer = await createCustomer(CLI_ACTOR, { name: "History" });
  const domain = await createDomain(CLI_ACTOR, { customer: customer.id, name: "history.example", recipientPolicy: "accept_all" });
  to = (local) => ({ address: `${local}@history.example`, domainId: domain.id, customerId: customer.id });
});

async function message(recipients: string[]) {
  return storeMessage({ mailFrom: "s@sender.example", raw: Buffer.from("Subject: h\r\n\r\nbody\r\n"), recipients: recipients.map(to) });
}

it("removes finished history past the limit and keeps everything else", async () => {
  const now = Date.now();
  const later = new Date(now + 2.5 * DAY);
  const finished = await message(["a", "b"]);
  await getDb().delivery.updateMany({ where: { messageId: finished, recipient: "a@history.example" }, data: { state: "delivered", deliveredAt: new Date(now) } });
  await getDb().delivery.updateMany({ where: { messageId: finished, recipient: "b@history.example" }, data: { state: "bounced", lastAttemptAt: new Date(now) } });
  const stillHeld = await message(["c", "d"]);
  await getDb().delivery.updateMany({ where: { messageId: stillHeld, recipient: "c@history.example" }, data: { state: "delivered", deliveredAt: new Date(now) } });
  const recentlyDone = await message(["e"]);
  await getDb().delivery.updateMany({ where: { messageId: recentlyDone }, data: { state: "delivered", deliveredAt: later } });
  await getDb().dsn.createMany({ data: [
    { rcptTo: "s@sender.example", raw: Buffer.from("x"), reason: "bounced", state: "sent", sentAt: new Date(now) },
    { rcptTo: "s@sender.example", raw: Buffer.from("y"), reason: "bounced", state: "held" },
  ] });
  await getDb().odmrSession.createMany({ data: [
    { remoteAddress: "192.0.2.1", startedAt: new Date(now), endedAt: new Date(now) },
    { remoteAddress: "192.0.2.2", startedAt: later, endedAt: later },
    { remoteAddress: "192.0.2.3", startedAt: new Date(now) },
  ] });

  // three days on, with one day of history kept
  const report = await purgeHistory(1, now + 3 * DAY);
  expect(report).toEqual({ messages: 1, dsns: 1, sessions: 1 });
  const left = (await getDb().message.findMany({ select: { id: true } })).map((m) => m.id).sort();
  expect(left).toEqual([stillHeld, recentlyDone].sort());
  expect(await getDb().delivery.count({ where: { messageId: finished } })).toBe(0);
  expect(await getDb().messageBody.count({ where: { messageId: finished } })).toBe(0);
  expect((await getDb().dsn.findMany()).map((d) => d.state)).toEqual(["held"]);
  expect((await getDb().odmrSession.findMany({ orderBy: { remoteAddress: "asc" } })).map((s) => s.remoteAddress)).toEqual(["192.0.2.2", "192.0.2.3"]);

  // nothing is old enough today
  expect(await purgeHistory(1, now)).toEqual({ messages: 0, dsns: 0, sessions: 0 });
});
