// Housekeeping: held mail past its domain's retention expires with a 5.4.7 DSN and its bytes go;
// delay warnings are sent once; DSNs leave through the smarthost (MAIL FROM:<>) or stay held for
// staff when there is none; the mailer's loop does all of it on its own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { sendStoredDsns } from "../../lib/dsn/send-dsns.ts";
import { expireHeldMail } from "../../lib/queue/expire-held-mail.ts";
import { warnDelayedMail } from "../../lib/queue/warn-delayed-mail.ts";
import { closeAbandonedSessions } from "../../lib/sessions/record-session.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer } from "../helpers/mailer-process.ts";
import { parseDsn } from "../helpers/parse-dsn.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

/** Makes held mail look older than it is. */
async function age(messageId: string, interval: string): Promise<void> {
  await getDb().$executeRawUnsafe(`UPDATE delivery SET created_at = created_at - interval '${interval}' WHERE message_id = $1`, messageId);
}

describe("housekeeping", () => {
  let short: TestCustomer;
  let smarthost: SmtpReceiver;

  beforeAll(async () => {
    short = await makeCustomer("Shortterm", ["short.example"], { retentionDays: 2 });
    smarthost = await startSmtpReceiver({ rcpt: (address) => (address === "refused@origin.example" ? { code: 550, text: "5.1.1 unknown" } : undefined) });
  });

  afterAll(async () => {
    await smarthost?.close();
  });

  it("expires held mail past its domain's retention with a 5.4.7 DSN, and only that mail", async () => {
    const long = await makeCustomer("Longterm", ["long.example"], { retentionDays: 30 });
    const old = await holdMessage(
      [
        { address: "o1@short.example", customer: short },
        { address: "o2@short.example", customer: short },
      ],
      testMessage("too old"),
    );
    const fresh = await holdMessage([{ address: "f@short.example", customer: short }], testMessage("fresh"));
    const keptLonger = await holdMessage([{ address: "l@long.example", customer: long }], testMessage("kept longer"));
    await age(old, "3 days");
    await age(keptLonger, "3 days");
    const report = await expireHeldMail({ reportingMta: "mx.test.example", dsnState: "held" });
    expect(report).toEqual({ expired: 2, dsns: 1 });
    const states = await getDb().delivery.findMany({ where: { messageId: { in: [old, fresh, keptLonger] } }, select: { messageId: true, state: true } });
    expect(states.filter((d) => d.messageId === old).map((d) => d.state)).toEqual(["expired", "expired"]);
    expect(states.filter((d) => d.messageId !== old).map((d) => d.state)).toEqual(["queued", "queued"]);
    expect(await getDb().messageBody.count({ where: { messageId: old } })).toBe(0);
    expect(await getDb().messageBody.count({ where: { messageId: fresh } })).toBe(1);
    const [dsn] = await getDb().dsn.findMany({ where: { messageId: old }, select: { raw: true, state: true, reason: true, rcptTo: true } });
    expect(dsn).toMatchObject({ state: "held", reason: "expired", rcptTo: "sender@origin.example" });
    const { status, originalHeaders, mail } = await parseDsn(dsn.raw);
    expect(status.match(/Action: failed\r?\nStatus: 5\.4\.7/g)).toHaveLength(2);
    expect(status).toContain("Final-Recipient: rfc822; o1@short.example");
    expect(originalHeaders).toContain("Subject: too old");
    expect(mail.text).toContain("2 days");
    // a second run finds nothing more
    expect(await expireHeldMail({ reportingMta: "mx.test.example", dsnState: "held" })).toEqual({ expired: 0, dsns: 0 });
  });

  it("warns the sender once when mail has been held longer than the threshold", async () => {
    const id = await holdMessage([{ address: "w@short.example", customer: short }], testMessage("still waiting"));
    await age(id, "3 hours");
    const quiet = await holdMessage([{ address: "q@short.example", customer: short }], testMessage("bounce of a bounce"), "");
    await age(quiet, "3 hours");
    expect(await warnDelayedMail({ hours: 2, reportingMta: "mx.test.example", dsnState: "held" })).toBe(1);
    expect(await warnDelayedMail({ hours: 2, reportingMta: "mx.test.example", dsnState: "held" })).toBe(0);
    const [dsn] = await getDb().dsn.findMany({ where: { messageId: id }, select: { raw: true, reason: true } });
    expect(dsn.reason).toBe("delayed");
    const { status } = await parseDsn(dsn.raw);
    expect(status).toContain("Action: delayed");
    expect(status).toMatch(/Will-Retry-Until: /);
    expect(await getDb().dsn.count({ where: { messageId: quiet } })).toBe(0);
    expect((await getDb().delivery.findFirst({ where: { messageId: id } }))!.state).toBe("queued");
  });

  it("sends stored DSNs through the smarthost with a null sender, and holds one it refuses", async () => {
    await getDb().dsn.create({
      data: { rcptTo: "refused@origin.example", raw: new Uint8Array(Buffer.from("Subject: x\r\n\r\nx\r\n")), reason: "bounced", state: "pending" },
    });
    const waiting = await getDb().dsn.count({ where: { OR: [{ state: "pending" }, { state: "held", attempts: 0 }] } });
    const before = smarthost.messages.length;
    const report = await sendStoredDsns({ host: "127.0.0.1", port: smarthost.port }, "mx.test.example");
    expect(report).toMatchObject({ sent: waiting - 1, held: 1, deferred: 0 });
    const sent = smarthost.messages.slice(before);
    expect(sent.length).toBe(waiting - 1);
    expect(sent.every((m) => m.mailFrom === "" && m.rcptTo.length === 1)).toBe(true);
    expect(await getDb().dsn.findFirst({ where: { rcptTo: "refused@origin.example" } })).toMatchObject({
      state: "held",
      attempts: 1,
      lastError: expect.stringContaining("550"),
    });
    expect(await getDb().dsn.count({ where: { state: "pending" } })).toBe(0);
    expect(await getDb().dsn.count({ where: { state: "sent", sentAt: { not: null } } })).toBe(waiting - 1);
  });

  it("runs in the mailer: expired mail's DSN reaches the smarthost", async () => {
    const id = await holdMessage([{ address: "late@short.example", customer: short }], testMessage("expires in the mailer"), "author@origin.example");
    await age(id, "5 days");
    const mailer = await startMailer({ SMARTHOST: `127.0.0.1:${smarthost.port}`, HOUSEKEEPING_INTERVAL_SECONDS: "1" });
    try {
      await expect
        .poll(() => smarthost.messages.some((m) => m.rcptTo[0] === "author@origin.example" && m.raw.includes("expires in the mailer")), { timeout: 20_000 })
        .toBe(true);
    } finally {
      await mailer.stop();
    }
    const message = smarthost.messages.find((m) => m.raw.includes("expires in the mailer"))!;
    expect(message.mailFrom).toBe("");
    expect((await parseDsn(message.raw)).status).toContain("Status: 5.4.7");
    expect(await getDb().dsn.findFirst({ where: { messageId: id } })).toMatchObject({ state: "sent" });
  });

  it("closes session records that a dead mailer left open, and only those", async () => {
    const hour = 3600_000;
    const now = Date.now();
    const abandoned = await getDb().odmrSession.create({ data: { remoteAddress: "192.0.2.1", startedAt: new Date(now - 10 * hour) } });
    const running = await getDb().odmrSession.create({ data: { remoteAddress: "192.0.2.2", startedAt: new Date(now - hour) } });
    expect(await closeAbandonedSessions(new Date(now - 24 * hour), new Date(now - 5 * hour))).toBe(1);
    expect(await getDb().odmrSession.findUnique({ where: { id: abandoned.id } })).toMatchObject({
      outcome: expect.stringMatching(/^interrupted/),
      endedAt: expect.any(Date),
    });
    expect(await getDb().odmrSession.findUnique({ where: { id: running.id } })).toMatchObject({ outcome: null, endedAt: null });
  });
});
