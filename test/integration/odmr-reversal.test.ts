// The turned-around session when things go wrong or run in parallel: a customer that goes
// silent (our timeouts fire), two sessions for one domain (no duplicates), a mailer killed in
// the middle of a delivery (nothing lost, only the messages accepted and not yet on record can
// come twice, ODMR_WINDOW at most), a shutdown during a session, and the implicit-TLS listener.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer, OdmrCustomer } from "../helpers/odmr-customer.ts";
import { sleep } from "../helpers/sleep.ts";
import { startSmtpReceiver, type ReceivedMessage } from "../helpers/smtp-receiver.ts";

const env = useTestDatabase();

function subjects(messages: ReceivedMessage[]): string[] {
  return messages.map((m) => /Subject: (.*)\r\n/.exec(m.raw.toString())![1]);
}

async function statesOf(domainId: string) {
  const rows = await getDb().delivery.groupBy({ by: ["state"], where: { domainId }, _count: { _all: true } });
  return Object.fromEntries(rows.map((r) => [r.state, r._count._all]));
}

async function holdMany(customer: TestCustomer, domain: string, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await holdMessage([{ address: `user${i % 3}@${domain}`, customer }], testMessage(`${prefix} ${String(i).padStart(3, "0")}`));
  }
}

/** Holds `count` messages for the domain: its id and its deliveries' messages in queue order. */
async function holdInOrder(customer: TestCustomer, domain: string, prefix: string, count: number) {
  await holdMany(customer, domain, prefix, count);
  const domainId = customer.domains.get(domain)!;
  const order = await getDb().delivery.findMany({ where: { domainId }, orderBy: { id: "asc" }, select: { messageId: true } });
  return { domainId, order };
}

/** One ATRN for the domain, served by a receiver of its own: what it received. */
async function collect(port: number, customer: TestCustomer, domain: string): Promise<ReceivedMessage[]> {
  const odmr = await loggedInCustomer(port, customer.login, customer.secret);
  expect((await odmr.atrn([domain])).code).toBe(250);
  const receiver = await startSmtpReceiver({}, { listen: false });
  await odmr.serveWith(receiver);
  return receiver.messages;
}

describe("turned-around sessions", () => {
  let mailer: MailerProcess;

  beforeAll(async () => {
    mailer = await startMailer({
      REVERSE_GREETING_TIMEOUT: "1",
      REVERSE_COMMAND_TIMEOUT: "1",
      REVERSE_FINAL_DOT_TIMEOUT: "1",
      ODMR_CLAIM_BATCH: "5",
    });
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  it("gives up on a customer that never sends its 220: QUIT, close, nothing lost", async () => {
    const silent = await makeCustomer("Silent", ["silent.example"]);
    await holdMessage([{ address: "s@silent.example", customer: silent }], testMessage("waiting"));
    const customer = await loggedInCustomer(mailer.odmrPort, silent.login, silent.secret);
    expect((await customer.atrn(["silent.example"])).code).toBe(250);
    const said = await customer.drain();
    expect(said).toBe("QUIT\r\n");
    expect(await statesOf(silent.domains.get("silent.example")!)).toEqual({ queued: 1 });
    await expect
      .poll(async () => (await getDb().odmrSession.findFirst({ where: { loginName: silent.login, endedAt: { not: null } } }))?.outcome)
      .toMatch(/timeout waiting for the reply to the greeting/);
  });

  it("gives up on a customer that goes silent after the data: the message stays held with the error", async () => {
    const slow = await makeCustomer("Slow", ["slow.example"]);
    const id = await holdMessage([{ address: "s@slow.example", customer: slow }], testMessage("slow"));
    const customer = await loggedInCustomer(mailer.odmrPort, slow.login, slow.secret);
    expect((await customer.atrn(["slow.example"])).code).toBe(250);
    const receiver = await startSmtpReceiver({ beforeReply: () => sleep(3000) }, { listen: false });
    await customer.serveWith(receiver);
    const [delivery] = await getDb().delivery.findMany({ where: { messageId: id } });
    expect(delivery.state).toBe("queued");
    expect(delivery.attempts).toBe(1);
    expect(delivery.lastError).toMatch(/timeout waiting for the reply to the end of data/);
    expect(await getDb().dsn.count({ where: { messageId: id } })).toBe(0);
  });

  it("shares one domain between two concurrent sessions without delivering anything twice", async () => {
    const busy = await makeCustomer("Busy", ["busy.example"]);
    await holdMany(busy, "busy.example", "shared", 60);
    const run = async () => {
      const customer = await loggedInCustomer(mailer.odmrPort, busy.login, busy.secret);
      expect((await customer.atrn(["busy.example"])).code).toBe(250);
      const receiver = await startSmtpReceiver({ beforeReply: () => sleep(10) }, { listen: false });
      await customer.serveWith(receiver);
      return subjects(receiver.messages);
    };
    const [first, second] = await Promise.all([run(), run()]);
    const all = [...first, ...second];
    expect(all.length).toBe(60);
    expect(new Set(all).size).toBe(60);
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    expect(await statesOf(busy.domains.get("busy.example")!)).toEqual({ delivered: 60 });
  });

  it("serves fetchmail-style implicit TLS on ODMRS_PORT", async () => {
    const tlsCustomer = await makeCustomer("Secure", ["secure.example"]);
    const raw = testMessage("over implicit tls");
    await holdMessage([{ address: "t@secure.example", customer: tlsCustomer }], raw);
    const customer = await OdmrCustomer.connect(mailer.odmrsPort, { tls: true });
    const ehlo = await customer.ehlo();
    expect(ehlo.lines).toContain("AUTH CRAM-MD5 PLAIN LOGIN");
    expect(ehlo.lines).not.toContain("STARTTLS");
    expect((await customer.authPlain(tlsCustomer.login, tlsCustomer.secret)).code).toBe(235);
    expect((await customer.atrn(["secure.example"])).code).toBe(250);
    const receiver = await startSmtpReceiver({}, { listen: false });
    await customer.serveWith(receiver);
    expect(receiver.messages.map((m) => m.raw.equals(raw))).toEqual([true]);
    await expect
      .poll(() => getDb().odmrSession.findFirst({ where: { loginName: tlsCustomer.login, endedAt: { not: null } } }))
      .toMatchObject({ tls: true, messagesDelivered: 1 });
  });
});

describe("a mailer that dies or stops in the middle of a delivery", () => {
  it("loses nothing when killed; only the ODMR_WINDOW messages accepted and not on record can arrive twice", async () => {
    const WINDOW = 4;
    const victim = await makeCustomer("Victim", ["victim.example"]);
    const { domainId, order } = await holdInOrder(victim, "victim.example", "kill", 12);
    // the fourth message's result cannot commit while another transaction holds its bytes' row:
    // the messages after it go out meanwhile, until WINDOW of them wait for their results; then
    // the next final dot waits (reverse-session.ts)
    const blocker = new pg.Client({ connectionString: env.url });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT 1 FROM message_body WHERE message_id = $1 FOR UPDATE", [order[3].messageId]);
    const first = await startMailer({ LEASE_SECONDS: "2", ODMR_CLAIM_BATCH: "4", ODMR_WINDOW: String(WINDOW) });
    const received: ReceivedMessage[][] = [];
    const customer = await loggedInCustomer(first.odmrPort, victim.login, victim.secret);
    expect((await customer.atrn(["victim.example"])).code).toBe(250);
    const atFirst = await startSmtpReceiver({}, { listen: false });
    received.push(atFirst.messages);
    const serving = customer.serveWith(atFirst).catch(() => undefined);
    // the fourth and the ones after it are accepted while the fourth's result cannot commit
    // (the ones before it may be committed with it), until WINDOW of them are not on record
    const notOnRecord = async () => atFirst.messages.length - ((await statesOf(domainId)).delivered ?? 0);
    await expect.poll(notOnRecord, { timeout: 10_000 }).toBe(WINDOW);
    await sleep(500);
    expect(await notOnRecord()).toBe(WINDOW);
    await first.kill();
    await serving;
    // the dead mailer's statement waiting for that row would still commit once it is free: its
    // backend learns of the lost connection only when it answers, so it is ended first
    await blocker.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))");
    await blocker.query("ROLLBACK");
    await blocker.end();
    const recorded = (await statesOf(domainId)).delivered ?? 0;
    expect(recorded).toBeLessThanOrEqual(3);
    expect(atFirst.messages.length).toBe(recorded + WINDOW);

    const second = await startMailer({ HOUSEKEEPING_INTERVAL_SECONDS: "1" });
    try {
      // the dead mailer's claims come back when their lease runs out (housekeeping requeues them)
      await expect.poll(async () => (await statesOf(domainId)).delivering ?? 0, { timeout: 15_000, interval: 500 }).toBe(0);
      received.push(await collect(second.odmrPort, victim, "victim.example"));
    } finally {
      await second.stop();
    }
    const all = received.flatMap(subjects);
    const counts = new Map<string, number>();
    for (const s of all) counts.set(s, (counts.get(s) ?? 0) + 1);
    expect(counts.size).toBe(12);
    // exactly those accepted and not on record came twice, the fourth among them
    const twice = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
    expect(twice).toEqual(subjects(received[0].slice(recorded)));
    expect(twice).toContain("kill 003");
    expect(await statesOf(domainId)).toEqual({ delivered: 12 });
  });

  it("when a result cannot be committed, ends the session and loses nothing; the next session delivers the rest", async () => {
    const failing = await makeCustomer("Unrecorded", ["unrecorded.example"]);
    const { domainId, order } = await holdInOrder(failing, "unrecorded.example", "unrecorded", 30);
    // the fifth message's result is refused by the database (a statement error, not an outage)
    const admin = new pg.Client({ connectionString: env.url });
    await admin.connect();
    await admin.query(`CREATE FUNCTION test_refuse_result() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.state = 'delivered' AND NEW.message_id = '${order[4].messageId}' THEN RAISE EXCEPTION 'refused for the test'; END IF;
        RETURN NEW;
      END $$`);
    await admin.query("CREATE TRIGGER test_refuse_result BEFORE UPDATE ON delivery FOR EACH ROW EXECUTE FUNCTION test_refuse_result()");
    const mailer = await startMailer();
    const received: ReceivedMessage[][] = [];
    try {
      const customer = await loggedInCustomer(mailer.odmrPort, failing.login, failing.secret);
      expect((await customer.atrn(["unrecorded.example"])).code).toBe(250);
      const first = await startSmtpReceiver({}, { listen: false });
      await customer.serveWith(first);
      received.push(first.messages);
      // it went on while that commit was retried, as far as the window (8) lets it, then stopped
      expect(first.messages.length).toBeLessThan(30);
      await expect
        .poll(async () => (await getDb().odmrSession.findFirst({ where: { loginName: failing.login, endedAt: { not: null } } }))?.outcome)
        .toMatch(/^stopped: .*refused for the test/);
      // nothing is left claimed: what has no result on record is held again
      const states = await statesOf(domainId);
      expect(states.delivering).toBeUndefined();
      expect(states.queued).toBeGreaterThan(0);
      expect(await statesOf(domainId)).toEqual({ delivered: 30 - states.queued, queued: states.queued });
      expect(mailer.logs.some((l) => l.msg === "reversed session failed")).toBe(true);
      // the transcript shows what was written, each message once: nothing for the refused one
      const session = await getDb().odmrSession.findFirst({ where: { loginName: failing.login, endedAt: { not: null } }, select: { transcript: true } });
      const lines = (session!.transcript as { step: string; text: string }[]).filter((e) => e.step === "message").map((e) => e.text.split(" ")[1]);
      expect(lines).toHaveLength(30 - states.queued);
      expect(new Set(lines).size).toBe(lines.length);
      expect(lines).not.toContain(order[4].messageId);

      await admin.query("DROP TRIGGER test_refuse_result ON delivery");
      received.push(await collect(mailer.odmrPort, failing, "unrecorded.example"));
    } finally {
      await admin.query("DROP TRIGGER IF EXISTS test_refuse_result ON delivery");
      await admin.query("DROP FUNCTION IF EXISTS test_refuse_result()");
      await admin.end();
      await mailer.stop();
    }
    expect(await statesOf(domainId)).toEqual({ delivered: 30 });
    const all = received.flatMap(subjects);
    expect(new Set(all).size).toBe(30);
    // offered again: the refused one, and at most the window accepted after it
    const twice = all.filter((s, i) => all.indexOf(s) !== i);
    expect(twice).toContain("unrecorded 004");
    expect(twice.length).toBeLessThanOrEqual(8);
  });

  it("on SIGTERM finishes the message in flight, says QUIT and gives the rest back", async () => {
    const stopping = await makeCustomer("Stopping", ["stopping.example"]);
    const domainId = stopping.domains.get("stopping.example")!;
    await holdMany(stopping, "stopping.example", "stop", 20);
    const mailer = await startMailer({ SHUTDOWN_GRACE_SECONDS: "10", ODMR_CLAIM_BATCH: "5" });
    const customer = await loggedInCustomer(mailer.odmrPort, stopping.login, stopping.secret);
    expect((await customer.atrn(["stopping.example"])).code).toBe(250);
    let count = 0;
    let stopped: Promise<number | null> | null = null;
    const receiver = await startSmtpReceiver(
      {
        beforeReply: async () => {
          if (++count === 3) stopped = mailer.stop();
          await sleep(50);
        },
      },
      { listen: false },
    );
    await customer.serveWith(receiver);
    expect(await stopped).toBe(0);
    const delivered = receiver.messages.length;
    expect(delivered).toBeGreaterThanOrEqual(3);
    expect(delivered).toBeLessThan(20);
    expect(await statesOf(domainId)).toEqual({ delivered, queued: 20 - delivered });
    expect(await getDb().delivery.count({ where: { domainId, leaseOwner: { not: null } } })).toBe(0);
    const session = await getDb().odmrSession.findFirst({ where: { loginName: stopping.login } });
    expect(session!.outcome).toMatch(/shutting down/);
  });

  it("caps a whole session: a long drain stops after the message in flight, an idle session gets 421", async () => {
    const capped = await makeCustomer("Capped", ["capped.example"]);
    const domainId = capped.domains.get("capped.example")!;
    await holdMany(capped, "capped.example", "cap", 30);
    // 3 s: room for two logins and the turn-around on a busy machine; 30 messages at 200 ms take 6 s
    const mailer = await startMailer({ ODMR_SESSION_MAX_SECONDS: "3" });
    try {
      const idle = await loggedInCustomer(mailer.odmrPort, capped.login, capped.secret);
      const customer = await loggedInCustomer(mailer.odmrPort, capped.login, capped.secret);
      expect((await customer.atrn(["capped.example"])).code).toBe(250);
      const receiver = await startSmtpReceiver({ beforeReply: () => sleep(200) }, { listen: false });
      await customer.serveWith(receiver);
      const delivered = receiver.messages.length;
      expect(delivered).toBeGreaterThan(0);
      expect(delivered).toBeLessThan(30);
      expect(await statesOf(domainId)).toEqual({ delivered, queued: 30 - delivered });
      expect((await idle.reply()).code).toBe(421);
      await expect
        .poll(() => getDb().odmrSession.findFirst({ where: { loginName: capped.login, reply: { startsWith: "250" }, endedAt: { not: null } } }))
        .toMatchObject({ outcome: expect.stringMatching(/^session time limit reached/), messagesDelivered: delivered });
    } finally {
      await mailer.stop();
    }
  });
});
