// Several mailers on one PostgreSQL, as the README's "More than one machine" describes: each
// mailer process runs alone (mailer/main.ts, what MAILHARBOR_COMPONENTS=mailer starts) with its
// own data directory and the same MAILHARBOR_SECRET_KEY. Intake on both MXes; two ATRN sessions
// for one domain, one on each mailer, share the queue without a duplicate (row locks and
// leases); a mailer killed mid-drain loses nothing, its claims come back when their lease runs
// out and the other mailer delivers them, at most ODMR_WINDOW messages twice; housekeeping and
// ETRN "deliver now" run once across the mailers, not once per mailer; a portal with a data
// directory of its own shows one queue and its deliver-now runs once.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { createLogin } from "../../lib/logins/logins.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer } from "../helpers/odmr-customer.ts";
import { signInOverHttp, startPortal, type Portal } from "../helpers/portal.ts";
import { sleep } from "../helpers/sleep.ts";
import { startSmtpReceiver, type ReceivedMessage, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

// one key for the test process (which seals the logins' CRAM-MD5 secrets) and every mailer
const SECRET_KEY = crypto.randomBytes(32).toString("hex");
process.env.MAILHARBOR_SECRET_KEY = SECRET_KEY;

const env = useTestDatabase();

/** What every mailer of this file shares: short leases and loops, so a dead mailer's claims come back in seconds. */
const SHARED = { LEASE_SECONDS: "3", HOUSEKEEPING_INTERVAL_SECONDS: "1", ETRN_REQUEST_POLL_SECONDS: "1", ODMR_CLAIM_BATCH: "10" };

const dataDirs: string[] = [];
const mailers: MailerProcess[] = [];
const receivers: SmtpReceiver[] = [];

/** A mailer as on its own machine: its own data directory (TLS key and certificate), the shared key and database. */
async function mailerOnItsOwnMachine(name: string, extra: Record<string, string> = {}): Promise<MailerProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `mailharbor-${name}-`));
  dataDirs.push(dataDir);
  const mailer = await startMailer({ ...SHARED, MAILHARBOR_DATA_DIR: dataDir, MAIL_HOSTNAME: `${name}.test.example`, ...extra });
  mailers.push(mailer);
  return mailer;
}

async function receiver(...args: Parameters<typeof startSmtpReceiver>): Promise<SmtpReceiver> {
  const started = await startSmtpReceiver(...args);
  receivers.push(started);
  return started;
}

/** "subject rcpt" for every recipient of every received message: one entry per delivered recipient. */
function deliveredPairs(messages: ReceivedMessage[]): string[] {
  return messages.flatMap((m) => {
    const subject = /^Subject: (.*)\r$/m.exec(m.raw.toString())![1];
    return m.rcptTo.map((r) => `${subject} ${r}`);
  });
}

function duplicates(pairs: string[]): string[] {
  const seen = new Set<string>();
  return pairs.filter((p) => (seen.has(p) ? true : (seen.add(p), false)));
}

async function deliveryStates(customer: TestCustomer, domain: string): Promise<Record<string, number>> {
  const rows = await getDb().delivery.groupBy({ by: ["state"], where: { domainId: customer.domains.get(domain) }, _count: true });
  return Object.fromEntries(rows.map((r) => [r.state, r._count]));
}

/** One ATRN session: log in on this mailer, ATRN the domain, take the mail with `into`. */
async function collect(mailer: MailerProcess, login: string, secret: string, domain: string, into: SmtpReceiver): Promise<void> {
  const customer = await loggedInCustomer(mailer.odmrPort, login, secret);
  expect((await customer.atrn([domain])).code).toBe(250);
  await customer.serveWith(into);
}

let one: MailerProcess;
let two: MailerProcess;
let smarthost: SmtpReceiver;

beforeAll(async () => {
  // a smarthost slow enough that one DSN takes longer than a housekeeping interval: a second
  // mailer running housekeeping meanwhile would find the same DSN still waiting and send it again
  smarthost = await receiver({ beforeReply: () => sleep(1500) });
  const toSmarthost = { SMARTHOST: `127.0.0.1:${smarthost.port}` };
  [one, two] = await Promise.all([mailerOnItsOwnMachine("mx1", toSmarthost), mailerOnItsOwnMachine("mx2", toSmarthost)]);
});

afterAll(async () => {
  await Promise.all(mailers.map((m) => m.stop()));
  await Promise.all(receivers.map((r) => r.close()));
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe("two mailers on one PostgreSQL", () => {
  it("take mail on both MXes and deliver every recipient exactly once to two ATRN sessions, one on each mailer", async () => {
    const shared = await makeCustomer("Shared", ["shared.example"]);
    const second = { login: "shared2", secret: `s3cret-${crypto.randomBytes(6).toString("hex")}` };
    await createLogin(CLI_ACTOR, { customer: shared.id, login: second.login, secret: second.secret });

    // 300 messages, half through each MX, a third of them for two recipients
    const expected: string[] = [];
    const send = async (mailer: MailerProcess, from: number, to: number) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: mailer.mxPort,
        secure: false,
        ignoreTLS: true,
        pool: true,
        maxConnections: 2,
        maxMessages: 1000,
        name: "sender.example",
      });
      try {
        await Promise.all(
          Array.from({ length: to - from }, async (_, k) => {
            const i = from + k;
            const rcpts = [`a${i % 10}@shared.example`, ...(i % 3 === 0 ? [`b${i % 4}@shared.example`] : [])];
            for (const r of rcpts) expected.push(`m${i} ${r}`);
            const info = await transport.sendMail({ from: "sender@origin.example", to: rcpts, subject: `m${i}`, text: `message ${i}\n` });
            expect(info.response).toMatch(/^250 /);
          }),
        );
      } finally {
        transport.close();
      }
    };
    await Promise.all([send(one, 0, 150), send(two, 150, 300)]);
    expect(await getDb().message.count({ where: { deliveries: { some: { domainId: shared.domains.get("shared.example") } } } })).toBe(300);
    expect(await deliveryStates(shared, "shared.example")).toEqual({ queued: 400 });

    // two sessions at once, each a little slow so that they overlap for the whole drain
    const atOne = await receiver({ beforeReply: () => sleep(2) }, { listen: false });
    const atTwo = await receiver({ beforeReply: () => sleep(2) }, { listen: false });
    await Promise.all([collect(one, shared.login, shared.secret, "shared.example", atOne), collect(two, second.login, second.secret, "shared.example", atTwo)]);
    // what the two mailers and this test process hold open on the database after the drain
    const [{ connections }] = await getDb().$queryRaw<
      { connections: number }[]
    >`SELECT count(*)::int AS connections FROM pg_stat_activity WHERE datname = current_database()`;
    const received = [...deliveredPairs(atOne.messages), ...deliveredPairs(atTwo.messages)];
    expect(duplicates(received)).toEqual([]);
    expect(received.sort()).toEqual([...expected].sort());
    // both shared the work
    expect(atOne.messages.length).toBeGreaterThan(0);
    expect(atTwo.messages.length).toBeGreaterThan(0);
    expect(atOne.messages.length + atTwo.messages.length).toBe(300);
    // half of them were taken by each MX, whichever session delivered them
    const takenBy = (mailer: MailerProcess) =>
      [...atOne.messages, ...atTwo.messages].filter((m) => m.raw.includes(`\tby ${mailer.hostname} (Mailharbor)`)).length;
    expect([takenBy(one), takenBy(two)]).toEqual([150, 150]);
    expect(await deliveryStates(shared, "shared.example")).toEqual({ delivered: 400 });
    // each session's record counts what its customer got
    await expect
      .poll(async () =>
        (await getDb().odmrSession.findMany({ where: { customerId: shared.id, endedAt: { not: null } }, orderBy: { loginName: "asc" } })).map((s) => [
          s.loginName,
          s.messagesDelivered,
        ]),
      )
      .toEqual([
        [shared.login, atOne.messages.length],
        [second.login, atTwo.messages.length],
      ]);
    console.log(
      `scale-out: 300 messages / 400 recipients, ${atOne.messages.length} via ${one.hostname}, ${atTwo.messages.length} via ${two.hostname}, 0 duplicates; ${connections} database connections open`,
    );
  });

  it("after a SIGKILL of one mailer mid-drain, the other delivers the rest once the leases run out: nothing lost, at most the ODMR_WINDOW (2) messages in flight twice", async () => {
    const victim = await mailerOnItsOwnMachine("victim", { ODMR_WINDOW: "2" });
    const crash = await makeCustomer("Crashing", ["crash.example"]);
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const rcpts = [`c${i % 5}@crash.example`];
      await holdMessage(
        rcpts.map((address) => ({ address, customer: crash })),
        testMessage(`k${i}`),
      );
      for (const r of rcpts) expected.push(`k${i} ${r}`);
    }

    const victimPid = victim.child.pid!;
    const heldByVictim = () => getDb().delivery.count({ where: { leaseOwner: { contains: `:${victimPid}:` }, state: "delivering" } });
    let killed = null as Promise<number> | null;
    let victimClaims = 0;
    // the victim dies while its 20th message waits for the customer's reply to the final dot:
    // the customer has the bytes, the victim never hears 250 and never records the result
    const atVictim = await receiver(
      {
        beforeReply: async () => {
          if (atVictim.messages.length === 19 && !killed) {
            killed = (async () => {
              victimClaims = await heldByVictim();
              await victim.kill();
              return Date.now();
            })();
            await killed;
          }
          await sleep(10);
        },
      },
      { listen: false },
    );
    // the survivor's customer goes on more slowly and, after the kill, waits until the dead
    // mailer's leases have run out and been returned to the queue, so the same session takes them
    let returnedAfterMs = 0;
    const atSurvivor = await receiver(
      {
        beforeReply: async () => {
          await sleep(10);
          if (killed && !returnedAfterMs) {
            const at = await killed;
            for (let i = 0; i < 200 && (await heldByVictim()) > 0; i++) await sleep(100);
            returnedAfterMs = Date.now() - at;
          }
        },
      },
      { listen: false },
    );

    const victimSession = collect(victim, crash.login, crash.secret, "crash.example", atVictim);
    const survivorSession = collect(two, crash.login, crash.secret, "crash.example", atSurvivor);
    await victimSession;
    await survivorSession;

    expect(killed).not.toBeNull();
    expect(victimClaims).toBeGreaterThan(0);
    // the claims came back when their lease ran out (3 s, renewed every second), not at once
    expect(returnedAfterMs).toBeGreaterThanOrEqual(1500);
    const fromVictim = deliveredPairs(atVictim.messages);
    const fromSurvivor = deliveredPairs(atSurvivor.messages);
    const all = [...fromVictim, ...fromSurvivor];
    expect(new Set(all)).toEqual(new Set(expected));
    const twice = duplicates(all);
    expect(twice.length).toBeLessThanOrEqual(2);
    expect(await deliveryStates(crash, "crash.example")).toEqual({ delivered: 200 });
    console.log(
      `scale-out kill: victim had ${fromVictim.length} delivered and ${victimClaims} claims when killed; claims back after ${returnedAfterMs} ms; survivor delivered ${fromSurvivor.length}; delivered twice: ${twice.length}`,
    );
  });

  it("runs housekeeping once across the mailers: an expired message gets one DSN, sent once through the smarthost", async () => {
    const old = await makeCustomer("Oldmail", ["old.example"], { retentionDays: 1 });
    const id = await holdMessage(
      [
        { address: "x@old.example", customer: old },
        { address: "y@old.example", customer: old },
      ],
      testMessage("too old"),
    );
    await getDb().$executeRaw`UPDATE delivery SET created_at = created_at - interval '2 days' WHERE message_id = ${id}`;
    await expect.poll(async () => await deliveryStates(old, "old.example"), { timeout: 15_000 }).toEqual({ expired: 2 });
    // several more housekeeping intervals of both mailers
    await sleep(3000);
    expect(await getDb().dsn.count({ where: { messageId: id } })).toBe(1);
    await expect.poll(async () => (await getDb().dsn.findFirst({ where: { messageId: id } }))?.state, { timeout: 15_000 }).toBe("sent");
    await sleep(2000);
    const dsns = smarthost.messages.filter((m) => m.raw.includes("x@old.example"));
    expect(dsns.map((m) => [m.mailFrom, m.rcptTo])).toEqual([["", ["sender@origin.example"]]]);
    const expiryRuns = mailers.flatMap((m) => m.logs.filter((l) => l.step === "expiry" && (l.result as { expired?: number })?.expired));
    expect(expiryRuns.map((l) => (l.result as { expired: number }).expired)).toEqual([2]);
  });

  it('runs an ETRN "deliver now" once across the mailers: one run, each recipient once at the target', async () => {
    const target = await receiver({ beforeReply: () => sleep(5) });
    const etrn = await makeCustomer("Etrnonce", ["etrnonce.example"]);
    await updateDomain(CLI_ACTOR, "etrnonce.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${target.port}`, etrnTls: "none" });
    const expected: string[] = [];
    for (let i = 0; i < 40; i++) {
      await holdMessage([{ address: `e${i % 4}@etrnonce.example`, customer: etrn }], testMessage(`r${i}`));
      expected.push(`r${i} e${i % 4}@etrnonce.example`);
    }
    const released = await runCli(["domain", "release", "--domain", "etrnonce.example", "--json"]);
    expect(released.code).toBe(0);
    await target.waitForMessages(40, 30_000);
    const runs = () => getDb().odmrSession.findMany({ where: { kind: "etrn", customerId: etrn.id } });
    await expect.poll(async () => (await runs()).filter((r) => r.endedAt).length, { timeout: 15_000 }).toBe(1);
    // both mailers have polled for requests several times since
    await sleep(3000);
    const [run, ...more] = await runs();
    expect(more).toEqual([]);
    expect(run.messagesDelivered).toBe(40);
    const received = deliveredPairs(target.messages);
    expect(received.sort()).toEqual(expected.sort());
    expect(await deliveryStates(etrn, "etrnonce.example")).toEqual({ delivered: 40 });
    // exactly one mailer started a run toward the target
    const starts = mailers.flatMap((m) => m.logs.filter((l) => l.msg === "ETRN run starting" && l.target === `127.0.0.1:${target.port}`));
    expect(starts).toHaveLength(1);
  });

  it("a mailer with another MAILHARBOR_SECRET_KEY cannot check CRAM-MD5 (454, logged), so every machine needs the same key", async () => {
    const keyed = await makeCustomer("Otherkey", ["otherkey.example"]);
    const stranger = await mailerOnItsOwnMachine("stranger", { MAILHARBOR_SECRET_KEY: crypto.randomBytes(32).toString("hex") });
    await expect(loggedInCustomer(stranger.odmrPort, keyed.login, keyed.secret)).rejects.toThrow(/^AUTH: 454 /);
    const logged = await stranger.waitForLog((l) => l.msg === "authentication could not be checked");
    expect(JSON.stringify(logged.err)).toContain("wrong key");
    // the same login on a mailer with the shared key
    (await loggedInCustomer(one.odmrPort, keyed.login, keyed.secret)).destroy();
    await stranger.stop();
  });
});

describe("a portal on a machine of its own, beside the two mailers", () => {
  const NEXTAUTH_SECRET = crypto.randomBytes(32).toString("hex");
  const portals: Portal[] = [];
  let portal: Portal;

  /** A portal as on its own machine: its own data directory, the database and (unless given another) the shared session key. */
  async function portalOnItsOwnMachine(secret = NEXTAUTH_SECRET): Promise<Portal> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-portal-"));
    dataDirs.push(dataDir);
    const started = await startPortal({ databaseUrl: env.url, dataDir, extra: { NEXTAUTH_SECRET: secret } });
    portals.push(started);
    return started;
  }

  beforeAll(async () => {
    portal = await portalOnItsOwnMachine();
  });

  afterAll(async () => {
    await Promise.all(portals.map((p) => p.stop()));
  });

  it("shows the mail both MXes took as one queue, and its deliver-now runs once across the mailers", async () => {
    const target = await receiver({ beforeReply: () => sleep(5) });
    const viewed = await makeCustomer("Portalview", ["portalview.example"]);
    const domainId = viewed.domains.get("portalview.example")!;
    await updateDomain(CLI_ACTOR, "portalview.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${target.port}`, etrnTls: "none" });
    for (const [mailer, from] of [
      [one, 0],
      [two, 10],
    ] as const) {
      const transport = nodemailer.createTransport({ host: "127.0.0.1", port: mailer.mxPort, secure: false, ignoreTLS: true, name: "sender.example" });
      for (let i = from; i < from + 10; i++)
        await transport.sendMail({ from: "sender@origin.example", to: `p${i % 3}@portalview.example`, subject: `p${i}`, text: "x\n" });
      transport.close();
    }
    const token = (await runCli(["token", "add", "--name", "scale-out", "--scopes", "read,queue", "--json"])).json.token as string;
    const api = async (method: string, route: string) => {
      const answer = await fetch(`${portal.url}/api/v1${route}`, { method, headers: { authorization: `Bearer ${token}` } });
      return { status: answer.status, body: await answer.json() };
    };
    expect((await api("GET", "/queue?domain=portalview.example")).body.total).toBe(20);

    expect((await api("POST", `/domains/${domainId}/deliver-now`)).status).toBe(202);
    await target.waitForMessages(20, 30_000);
    await expect
      .poll(
        async () => (await api("GET", "/sessions?kind=etrn&domain=portalview.example")).body.items.filter((s: { endedAt: string | null }) => s.endedAt).length,
        { timeout: 15_000 },
      )
      .toBe(1);
    await sleep(3000);
    expect((await api("GET", "/sessions?kind=etrn&domain=portalview.example")).body.items).toHaveLength(1);
    expect(duplicates(deliveredPairs(target.messages))).toEqual([]);
    expect(target.messages).toHaveLength(20);
    expect((await api("GET", "/queue?domain=portalview.example")).body.total).toBe(0);
    expect(await deliveryStates(viewed, "portalview.example")).toEqual({ delivered: 20 });
  });

  it("a session from one portal holds on another with the same NEXTAUTH_SECRET, and not on one with another", async () => {
    await createPortalUser(CLI_ACTOR, { email: "ops@scale.example", role: "staff", password: "a-long-password-1" });
    const [twin, stranger] = await Promise.all([portalOnItsOwnMachine(), portalOnItsOwnMachine(crypto.randomBytes(32).toString("hex"))]);
    const cookie = await signInOverHttp(portal.url, "ops@scale.example", "a-long-password-1");
    expect(cookie).not.toBeNull();
    const sessionAt = async (at: Portal) =>
      (await (await fetch(`${at.url}/api/auth/session`, { headers: { cookie: cookie! } })).json()) as { user?: { email?: string } } | null;
    expect((await sessionAt(portal))?.user?.email).toBe("ops@scale.example");
    expect((await sessionAt(twin))?.user?.email).toBe("ops@scale.example");
    expect((await sessionAt(stranger))?.user).toBeUndefined();
  });
});
