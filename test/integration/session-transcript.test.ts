// "Test my connection" over real sockets against the real mailer: an ATRN session's transcript
// holds the AUTH result, the ATRN reply, the customer server's reply to each message and why the
// session ended; a failed AUTH naming an existing login is recorded against that login, and many
// of them do not grow the store past the bound. The portal's ready fetchmail configuration, run
// by the real fetchmail (plain and ssl), collects the mail.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { getConnectionGuide } from "../../lib/logins/connection-guide.ts";
import { SECRET_PLACEHOLDER } from "../../lib/logins/fetchmail-rc.ts";
import { searchLogins } from "../../lib/logins/search-logins.ts";
import { listLoginTranscripts } from "../../lib/sessions/login-transcripts.ts";
import { FAILED_AUTH_SESSIONS_KEPT } from "../../lib/sessions/record-session.ts";
import { TRANSCRIPT_MAX_EVENTS } from "../../lib/sessions/session-transcript.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { runFetchmailRc } from "../helpers/fetchmail.ts";
import { customerActor, holdMessage, makeCustomer, STAFF_ACTOR as STAFF, type TestCustomer, testMessage } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer, OdmrCustomer } from "../helpers/odmr-customer.ts";
import { sleep } from "../helpers/sleep.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

/** Waits until every session of the login has ended (the recorder writes after the socket closes). */
async function sessionsEnded(loginId: string | null, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await getDb().odmrSession.findMany({ where: { loginId }, select: { endedAt: true } });
    if (rows.length >= count && rows.every((r) => r.endedAt)) return;
    if (Date.now() > deadline) throw new Error(`sessions of ${loginId} did not end: ${rows.length} found`);
    await sleep(100);
  }
}

/**
 * Counts every write of a session record in the database itself, each made to take 50 ms as on a
 * loaded database: a count then depends on how long the writes take, not on how fast this
 * machine happens to be. `stop()` removes the trigger.
 */
async function countSessionWrites(): Promise<{ writes(sessionId: string): Promise<number>; stop(): Promise<void> }> {
  await getDb().$executeRawUnsafe("CREATE TABLE IF NOT EXISTS session_writes (id uuid)");
  await getDb().$executeRawUnsafe(
    "CREATE OR REPLACE FUNCTION count_session_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO session_writes VALUES (NEW.id); PERFORM pg_sleep(0.05); RETURN NEW; END $$",
  );
  await getDb().$executeRawUnsafe("CREATE TRIGGER count_session_write AFTER UPDATE ON odmr_session FOR EACH ROW EXECUTE FUNCTION count_session_write()");
  return {
    writes: async (sessionId) =>
      (await getDb().$queryRawUnsafe<{ writes: number }[]>("SELECT count(*)::int AS writes FROM session_writes WHERE id = $1::uuid", sessionId))[0].writes,
    stop: () =>
      getDb()
        .$executeRawUnsafe("DROP TRIGGER count_session_write ON odmr_session")
        .then(() => undefined),
  };
}

describe("ODMR session transcripts", () => {
  let mailer: MailerProcess;
  let receiver: SmtpReceiver;
  let acme: TestCustomer;
  let beta: TestCustomer;

  beforeAll(async () => {
    acme = await makeCustomer("Acme", ["acme.example"]);
    beta = await makeCustomer("Beta", ["beta.example"]);
    // no slow-down or lock-out for the many failures below (the throttle has tests of its own)
    mailer = await startMailer({ AUTH_DELAY_STEP_MS: "0", AUTH_LOCK_AFTER: "100000" });
    receiver = await startSmtpReceiver({
      rcpt: (address) => (address.startsWith("nobody@") ? { code: 550, text: "5.1.1 no such user here" } : undefined),
      data: (m) => (m.raw.toString().includes("Subject: try later") ? { code: 451, text: "4.3.0 disk full, try later" } : undefined),
    });
  });

  afterAll(async () => {
    await receiver?.close();
    await mailer?.stop();
  });

  it("records AUTH, the ATRN reply, each message's replies from the customer's server and the end", async () => {
    await holdMessage([{ address: "alice@acme.example", customer: acme }], testMessage("for alice"));
    await holdMessage([{ address: "nobody@acme.example", customer: acme }], testMessage("for nobody"));
    await holdMessage([{ address: "bob@acme.example", customer: acme }], testMessage("try later"));
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await customer.atrn(["acme.example"])).code).toBe(250);
    await customer.serveWith(receiver);
    await sessionsEnded(acme.loginId, 1);

    const [session] = await listLoginTranscripts(customerActor(acme), acme.loginId);
    const lines = session.transcript.map((e) => `${e.step}: ${e.text}`);
    expect(lines[0]).toMatch(/^connect: connected from 127\.0\.0\.1/);
    expect(lines).toContain("ehlo: EHLO customer.test.example: 250 (AUTH CRAM-MD5, ATRN, STARTTLS)");
    expect(lines).toContain(`auth: AUTH CRAM-MD5 as "${acme.login}": 235 Authentication successful`);
    expect(lines).toContain("atrn: ATRN for acme.example: 250 OK now reversing the connection");
    expect(lines.find((l) => l.startsWith("greeting:"))).toMatch(/^greeting: the customer's server greeted: 220 /);
    expect(lines.find((l) => l.startsWith("hello:"))).toMatch(/^hello: our EHLO mx\.test\.example: 250 /);
    const messages = lines.filter((l) => l.startsWith("message:"));
    expect(messages).toHaveLength(3);
    expect(messages.find((l) => l.includes("alice@acme.example"))).toMatch(/from <sender@origin\.example>: alice@acme\.example → 250 .*\(delivered\)$/);
    expect(messages.find((l) => l.includes("nobody@acme.example"))).toMatch(/nobody@acme\.example → 550 5\.1\.1 no such user here \(bounced to the sender\)$/);
    expect(messages.find((l) => l.includes("bob@acme.example"))).toMatch(/bob@acme\.example → 451 4\.3\.0 disk full, try later \(kept held \(temporary\)\)$/);
    expect(lines[lines.length - 1]).toBe("end: completed; 1 messages delivered");
    // events are in order of time
    const times = session.transcript.map((e) => e.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(session.authenticated).toBe(true);

    // staff see the same; another customer's id is not found
    expect((await listLoginTranscripts(STAFF, acme.loginId))[0].transcript).toEqual(session.transcript);
    await expect(listLoginTranscripts(customerActor(beta), acme.loginId)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("records a failed AUTH that names an existing login against that login, with the reason", async () => {
    const customer = await OdmrCustomer.connect(mailer.odmrPort);
    await customer.ehlo();
    expect((await customer.authCramMd5(beta.login, "not-the-secret")).code).toBe(535);
    expect((await customer.command("QUIT")).code).toBe(221);
    await sessionsEnded(beta.loginId, 1);
    const [session] = await listLoginTranscripts(customerActor(beta), beta.loginId);
    expect(session.authenticated).toBe(false);
    expect(session.transcript.map((e) => e.text)).toContain(`AUTH CRAM-MD5 as "${beta.login}": 535 Authentication credentials invalid (wrong secret)`);
    expect(session.transcript.at(-1)).toMatchObject({ step: "end", text: "authentication failed" });
    // Acme cannot see Beta's failures
    await expect(listLoginTranscripts(customerActor(acme), beta.loginId)).rejects.toMatchObject({ code: "NOT_FOUND" });

    // an unknown name is kept as the name tried, with no login and no transcript
    const stranger = await OdmrCustomer.connect(mailer.odmrPort);
    await stranger.ehlo();
    expect((await stranger.authCramMd5("no-such-login", "whatever")).code).toBe(535);
    stranger.end();
    await stranger.closed;
    await sessionsEnded(null, 1);
    const unknown = await getDb().odmrSession.findFirst({ where: { loginName: "no-such-login" } });
    expect(unknown).toMatchObject({ loginId: null, customerId: null, transcript: null });
  });

  it("keeps only the newest failed sessions per login, and bounds the AUTH lines of one connection", async () => {
    const attempts = FAILED_AUTH_SESSIONS_KEPT + 15;
    for (let i = 0; i < attempts; i++) {
      const guesser = await OdmrCustomer.connect(mailer.odmrPort);
      await guesser.ehlo();
      expect((await guesser.authCramMd5(acme.login, `guess-${i}`)).code).toBe(535);
      guesser.end();
      await guesser.closed;
    }
    // one connection that keeps guessing until smtp-server's limit of commands before AUTH ends it
    const stubborn = await OdmrCustomer.connect(mailer.odmrPort);
    await stubborn.ehlo();
    const codes: number[] = [];
    for (let i = 0; i < 60 && codes.at(-1) !== 421; i++) codes.push((await stubborn.authCramMd5(acme.login, `again-${i}`)).code);
    expect(codes.at(-1)).toBe(421);
    await stubborn.closed;
    await sessionsEnded(acme.loginId, FAILED_AUTH_SESSIONS_KEPT + 1);

    // the recorder writes after the socket closes: wait until the last guess is linked
    const deadline = Date.now() + 20_000;
    let failed = 0;
    for (;;) {
      const rows = await getDb().odmrSession.findMany({ where: { loginId: acme.loginId, authenticated: false }, select: { endedAt: true, transcript: true } });
      failed = rows.length;
      const newest = await listLoginTranscripts(STAFF, acme.loginId, { limit: 1 });
      if (newest[0]?.transcript.filter((e) => e.step === "auth").length && newest[0].endedAt) break;
      if (Date.now() > deadline) throw new Error("the last session was not recorded");
      await sleep(100);
    }
    // the bound: ended failed sessions beyond it are removed as new ones come (the newest may
    // still have been open when the one before it was linked)
    expect(failed).toBeLessThanOrEqual(FAILED_AUTH_SESSIONS_KEPT + 1);
    expect(failed).toBeGreaterThanOrEqual(FAILED_AUTH_SESSIONS_KEPT);
    // the successful session of the first test is kept
    expect(await getDb().odmrSession.count({ where: { loginId: acme.loginId, authenticated: true } })).toBe(1);

    const [newest] = await listLoginTranscripts(STAFF, acme.loginId, { limit: 1 });
    const auth = newest.transcript.filter((e) => e.step === "auth");
    expect(auth).toHaveLength(codes.filter((c) => c === 535).length);
    expect(newest.transcript.length).toBeLessThanOrEqual(22);
    expect(JSON.stringify(newest.transcript).length).toBeLessThan(8 * 1024);
  });

  it("keeps the connection guide and the login list within the customer", async () => {
    expect((await getConnectionGuide(customerActor(acme), acme.loginId)).domains).toEqual(["acme.example"]);
    await expect(getConnectionGuide(customerActor(beta), acme.loginId)).rejects.toMatchObject({ code: "NOT_FOUND" });
    const own = await searchLogins(customerActor(beta), {});
    expect(own.items.map((l) => l.login)).toEqual([beta.login]);
    expect(await searchLogins(customerActor(beta), { customerId: acme.id })).toMatchObject({ total: 0, items: [] });
    // staff see both, with each login's newest session
    const all = await searchLogins(STAFF, {});
    expect(all.items.map((l) => l.login).sort()).toEqual([acme.login, beta.login].sort());
    expect(all.items.find((l) => l.login === beta.login)?.lastSession).toMatchObject({ authenticated: false });
  });

  it("the portal's fetchmail configuration, plain and ssl, collects the mail when run by the real fetchmail", async () => {
    const guide = await getConnectionGuide(customerActor(acme), acme.loginId);
    expect(guide.fetchmail).not.toBeNull();
    const { plain, ssl } = guide.fetchmail!;
    expect(plain).toContain(`password "${SECRET_PLACEHOLDER}"`);
    expect(ssl).toContain("sslfingerprint");
    // what the customer fills in: the secret, and (here) where the provider and its own MTA are
    const localize = (rc: string, port: number) =>
      rc
        .replace(`password "${SECRET_PLACEHOLDER}"`, `password "${acme.secret}"`)
        .replace(`poll ${guide.host} `, "poll 127.0.0.1 ")
        .replace(/service \d+/, `service ${port}`)
        .replace('smtphost "localhost/25"', `smtphost "127.0.0.1/${receiver.port}"`);
    for (const [rc, port, subject] of [
      [plain, mailer.odmrPort, "via the plain rc"],
      [ssl, mailer.odmrsPort, "via the ssl rc"],
    ] as const) {
      await holdMessage([{ address: "carol@acme.example", customer: acme }], testMessage(subject));
      const before = receiver.messages.length;
      const run = await runFetchmailRc(localize(rc, port));
      expect(run.code, run.output).toBe(0);
      expect(
        receiver.messages
          .slice(before)
          .map((m) => m.raw.toString())
          .some((t) => t.includes(`Subject: ${subject}`)),
        run.output,
      ).toBe(true);
    }
  });

  it("a client repeating ATRN past its rate costs one session write at a time, not one per command", async () => {
    const gamma = await makeCustomer("Gamma", ["gamma.example"]);
    const counter = await countSessionWrites();
    try {
      const customer = await loggedInCustomer(mailer.odmrPort, gamma.login, gamma.secret);
      const codes: number[] = [];
      for (let i = 0; i < 200; i++) codes.push((await customer.atrn()).code);
      // ATRN_RATE_PER_MINUTE (10): ten are decided (no mail), the rest refused as too often
      expect(codes.filter((c) => c === 453)).toHaveLength(10);
      expect(codes.filter((c) => c === 450)).toHaveLength(190);
      expect((await customer.command("QUIT")).code).toBe(221);
      await sessionsEnded(gamma.loginId, 1);
      const session = await getDb().odmrSession.findFirstOrThrow({ where: { loginId: gamma.loginId } });
      const writes = await counter.writes(session.id);
      // one per reply would be 202 (AUTH, 200 replies, the end); replies that come while a write is
      // under way join the next one, so a write's 50 ms absorbs every reply of that time
      expect(writes).toBeGreaterThan(1);
      expect(writes).toBeLessThan(100);
      // nothing is lost by joining: the record ends with the last reply, the transcript with the last ATRN
      expect(session.reply).toBe("450 Too many ATRN requests, try again later");
      const [transcript] = await listLoginTranscripts(customerActor(gamma), gamma.loginId);
      expect(transcript.transcript.at(-2)?.text).toMatch(/: 450 Too many ATRN requests/);
    } finally {
      await counter.stop();
    }
  });

  it("once the transcript is full, the same reply again costs no write at all", async () => {
    const delta = await makeCustomer("Delta", ["delta.example"]);
    const counter = await countSessionWrites();
    try {
      const customer = await loggedInCustomer(mailer.odmrPort, delta.login, delta.secret);
      // more ATRNs than the transcript has room for (TRANSCRIPT_MAX_EVENTS): it is full after these
      for (let i = 0; i < TRANSCRIPT_MAX_EVENTS; i++) await customer.atrn();
      const { id } = await getDb().odmrSession.findFirstOrThrow({ where: { loginId: delta.loginId } });
      const writes = () => counter.writes(id);
      /** The count once the recorder has written all it will: unchanged for 1 s. */
      const settled = async () => {
        let last = await writes();
        for (;;) {
          await sleep(1000);
          const now = await writes();
          if (now === last) return now;
          last = now;
        }
      };
      const full = await settled();
      expect(full).toBeGreaterThan(1);
      for (let i = 0; i < 100; i++) expect((await customer.atrn()).code).toBe(450);
      expect(await settled()).toBe(full);
      expect((await customer.command("QUIT")).code).toBe(221);
      await sessionsEnded(delta.loginId, 1);
      // the end is written, with the note on what the bounded transcript left out
      expect(await writes()).toBe(full + 1);
      const [transcript] = await listLoginTranscripts(customerActor(delta), delta.loginId);
      expect(transcript.transcript).toHaveLength(TRANSCRIPT_MAX_EVENTS);
      expect(transcript.transcript.at(-2)?.text).toMatch(/more events not recorded/);
    } finally {
      await counter.stop();
    }
  });
});
