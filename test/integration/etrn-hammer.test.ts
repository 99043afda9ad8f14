// ETRN (RFC 1985) from a client that hammers it, over real sockets against the real mailer: 200
// pipelined ETRN after AUTH start at most one run and a follow-up, write few session records and
// a bounded number of transactions; a login (or a listed address without AUTH) past
// ETRN_RATE_PER_MINUTE gets 458; a second mailer on the same database coalesces into the first
// one's run; and a run that cannot reach its target does bounded work on 5,000 held deliveries.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { freePort } from "../helpers/free-port.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";
import type { SmtpReply } from "../helpers/smtp-reply.ts";

const env = useTestDatabase();

/** No background work (deliver-now polling, housekeeping) during the counts. */
const QUIET = { ETRN_REQUEST_POLL_SECONDS: "3600", HOUSEKEEPING_INTERVAL_SECONDS: "3600" };

let mailer: MailerProcess;
let second: MailerProcess | null = null;
let slow: SmtpReceiver;

// Statistics are read over one connection of our own whose queries are counted, so that they can
// be taken off the database's commit count: what remains is the mailer's work.
let probe: pg.Client;
let probeQueries = 0;

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  probeQueries++;
  return (await probe.query<T>(sql, params)).rows;
}

/**
 * Commits in this test's database by others than the probe, once the statistics have settled: a
 * backend reports its counts within a second of a commit, or, when it goes idle, within ten.
 */
async function commits(): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    await query("SELECT pg_stat_clear_snapshot()");
    const [row] = await query<{ n: string }>("SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()");
    const now = Number(row.n) - probeQueries;
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since > 11_000) return now;
    await sleep(1000);
  }
  throw new Error("the commit count did not settle");
}

/** Row updates of the delivery table so far. */
async function deliveryUpdates(): Promise<number> {
  await query("SELECT pg_stat_clear_snapshot()");
  const [row] = await query<{ n: string }>("SELECT n_tup_upd::text AS n FROM pg_stat_user_tables WHERE relname = 'delivery'");
  return Number(row.n);
}

/** The customer's ETRN session records (over the probe). */
async function etrnSessions(customer: TestCustomer) {
  return query<{ ended_at: Date | null }>("SELECT ended_at FROM odmr_session WHERE kind = 'etrn' AND customer_id = $1::uuid ORDER BY started_at", [
    customer.id,
  ]);
}

async function authenticated(port: number, customer: TestCustomer): Promise<SmtpDialog> {
  const dialog = await SmtpDialog.open(port);
  expect((await dialog.command("EHLO client.example")).code).toBe(250);
  expect((await dialog.authCramMd5(customer.login, customer.secret)).last).toMatch(/^235 /);
  return dialog;
}

/** Writes every command in one go (pipelining, RFC 2920) and reads all the replies. */
async function pipelined(dialog: SmtpDialog, command: string, times: number): Promise<SmtpReply[]> {
  dialog.write(`${command}\r\n`.repeat(times));
  const replies: SmtpReply[] = [];
  for (let i = 0; i < times; i++) replies.push(await dialog.reply(30_000));
  return replies;
}

function runsStarted(process: MailerProcess, domain: string): number {
  return process.logs.filter((l) => l.msg === "ETRN run starting" && l.domain === domain).length;
}

function histogram(replies: SmtpReply[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of replies) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}

beforeAll(async () => {
  probe = new pg.Client({ connectionString: env.url });
  await probe.connect();
  slow = await startSmtpReceiver({ beforeReply: () => sleep(400) });
  mailer = await startMailer(QUIET);
});

afterAll(async () => {
  await second?.stop();
  await mailer?.stop();
  await slow?.close();
  await probe?.end();
});

describe("200 pipelined ETRN after AUTH", () => {
  it("start one run (and at most one follow-up), answer the rest 250 or 458, and cost a bounded number of transactions", async () => {
    const hammer = await makeCustomer("Hammer", ["hammer.example"]);
    await updateDomain(CLI_ACTOR, "hammer.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${slow.port}` });
    for (let i = 0; i < 5; i++) await holdMessage([{ address: `h${i}@hammer.example`, customer: hammer }], testMessage(`hammer ${i}`));
    const dialog = await authenticated(mailer.mxPort, hammer);
    const before = await commits();
    const started = Date.now();
    const replies = await pipelined(dialog, "ETRN hammer.example", 200);
    const seconds = (Date.now() - started) / 1000;
    await slow.waitForMessages(5, 30_000);
    // every run and every session record has ended
    await expect.poll(async () => (await etrnSessions(hammer)).every((s) => s.ended_at), { timeout: 30_000 }).toBe(true);
    const sessions = (await etrnSessions(hammer)).length;
    const transactions = (await commits()) - before;
    const runs = runsStarted(mailer, "hammer.example");
    console.log(
      `200 pipelined ETRN: replies ${JSON.stringify(histogram(replies))} in ${seconds.toFixed(1)} s, runs ${runs}, session rows ${sessions}, transactions ${transactions}`,
    );

    expect(replies).toHaveLength(200);
    expect(replies[0].last).toBe("253 2.0.0 OK, 5 pending messages for node hammer.example started");
    // within the rate (10 a minute) a request while the run goes is coalesced into it
    expect(replies.slice(1, 10).map((r) => r.last)).toEqual(Array(9).fill("250 2.0.0 OK, queuing for node hammer.example started"));
    // past it, RFC 1985 §4's 458
    expect(replies[10].last).toBe("458 4.7.0 Unable to queue messages for node hammer.example: too many ETRN requests, try again later");
    expect(replies.slice(10).every((r) => r.code === 458)).toBe(true);
    expect(runs).toBeLessThanOrEqual(2);
    expect(sessions).toBeLessThanOrEqual(2);
    expect(transactions).toBeLessThan(150);
    expect(slow.messages).toHaveLength(5);
    expect(await getDb().delivery.count({ where: { domainId: hammer.domains.get("hammer.example"), state: "delivered" } })).toBe(5);
    dialog.close();
  }, 120_000);

  it("limits a listed network without AUTH per address", async () => {
    const listed = await makeCustomer("Listed", ["listed-rate.example"]);
    await updateDomain(CLI_ACTOR, "listed-rate.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${slow.port}`, etrnFrom: ["127.0.0.7", "127.0.0.8"] });
    const dialog = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.7" });
    expect((await dialog.command("EHLO client.example")).code).toBe(250);
    const replies = await pipelined(dialog, "ETRN listed-rate.example", 12);
    expect(replies.slice(0, 10).map((r) => r.code)).toEqual(Array(10).fill(251));
    expect(replies.slice(10).map((r) => r.code)).toEqual([458, 458]);
    dialog.close();
    // another listed address has its own share
    const other = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.8" });
    expect((await other.command("EHLO client.example")).code).toBe(250);
    expect((await other.command("ETRN listed-rate.example")).code).toBe(251);
    other.close();
    await expect.poll(async () => (await etrnSessions(listed)).length).toBe(11);
  });
});

describe("two mailers on one database", () => {
  it("run a domain once: the second mailer's ETRN joins the first one's run", async () => {
    second = await startMailer(QUIET);
    const shared = await makeCustomer("Shared", ["shared.example"]);
    await updateDomain(CLI_ACTOR, "shared.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${slow.port}` });
    const before = slow.messages.length;
    for (let i = 0; i < 4; i++) await holdMessage([{ address: `s${i}@shared.example`, customer: shared }], testMessage(`shared ${i}`));
    const first = await authenticated(mailer.mxPort, shared);
    expect((await first.command("ETRN shared.example")).code).toBe(253);
    const other = await authenticated(second.mxPort, shared);
    expect((await other.command("ETRN shared.example")).last).toBe("250 2.0.0 OK, queuing for node shared.example started");
    await slow.waitForMessages(before + 4, 30_000);
    await expect.poll(async () => (await etrnSessions(shared)).every((s) => s.ended_at), { timeout: 30_000 }).toBe(true);
    await sleep(1500);
    expect(runsStarted(second, "shared.example")).toBe(0);
    expect(runsStarted(mailer, "shared.example")).toBe(1);
    expect((await etrnSessions(shared)).length).toBe(1);
    expect(slow.messages.length).toBe(before + 4);
    first.close();
    other.close();
  }, 60_000);
});

describe("a run that cannot reach its target", () => {
  it("is not repeated per request: 200 pipelined ETRN give one run and one follow-up 10 s after it", async () => {
    const down = await freePort();
    const refused = await makeCustomer("Refused", ["refused.example"]);
    await updateDomain(CLI_ACTOR, "refused.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${down}` });
    for (let i = 0; i < 3; i++) await holdMessage([{ address: `r${i}@refused.example`, customer: refused }], testMessage(`refused ${i}`));
    const dialog = await authenticated(mailer.mxPort, refused);
    const before = await commits();
    const replies = await pipelined(dialog, "ETRN refused.example", 200);
    await expect.poll(async () => (await etrnSessions(refused)).filter((s) => s.ended_at).length, { timeout: 30_000, interval: 500 }).toBe(2);
    await sleep(2000);
    const transactions = (await commits()) - before;
    const runs = runsStarted(mailer, "refused.example");
    const sessions = (await etrnSessions(refused)).length;
    console.log(
      `200 pipelined ETRN, target down: replies ${JSON.stringify(histogram(replies))}, runs ${runs}, session rows ${sessions}, transactions ${transactions}`,
    );
    expect(histogram(replies)).toEqual({ 253: 1, 250: 9, 458: 190 });
    expect(runs).toBe(2);
    expect(sessions).toBe(2);
    expect(transactions).toBeLessThan(150);
    dialog.close();
  }, 120_000);

  it("notes the reason on 5,000 held deliveries once, and writes nothing when it fails the same way again", async () => {
    const down = await freePort();
    const big = await makeCustomer("Big", ["big.example"]);
    await getDb().domain.update({ where: { name: "big.example" }, data: { recipientPolicy: "accept_all" } });
    await updateDomain(CLI_ACTOR, "big.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${down}` });
    const domainId = big.domains.get("big.example")!;
    for (let batch = 0; batch < 5; batch++) {
      await storeMessage({
        mailFrom: "bulk@origin.example",
        raw: testMessage(`bulk ${batch}`),
        recipients: Array.from({ length: 1000 }, (_, i) => ({ address: `u${batch}-${i}@big.example`, domainId, customerId: big.id })),
      });
    }
    const dialog = await authenticated(mailer.mxPort, big);
    const figures: { updated: number; transactions: number }[] = [];
    let xacts = await commits();
    let updates = await deliveryUpdates();
    for (let run = 0; run < 2; run++) {
      const endedBefore = (await etrnSessions(big)).filter((s) => s.ended_at).length;
      expect((await dialog.command("ETRN big.example")).code).toBe(253);
      await expect.poll(async () => (await etrnSessions(big)).filter((s) => s.ended_at).length, { timeout: 30_000 }).toBe(endedBefore + 1);
      const nowXacts = await commits();
      const nowUpdates = await deliveryUpdates();
      figures.push({ updated: nowUpdates - updates, transactions: nowXacts - xacts });
      [updates, xacts] = [nowUpdates, nowXacts];
    }
    console.log(`failed runs against 5,000 held deliveries: ${JSON.stringify(figures)}`);
    expect(await getDb().delivery.count({ where: { domainId, lastError: `could not connect to 127.0.0.1:${down}: ECONNREFUSED` } })).toBe(5000);
    expect(figures[0].updated).toBe(5000);
    expect(figures[1].updated).toBe(0);
    expect(figures.every((f) => f.transactions < 40)).toBe(true);
    dialog.close();
  }, 120_000);
});
