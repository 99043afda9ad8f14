// Notifications (issue 12 §3) against a real SMTP receiver (as SMARTHOST) and a real HTTP receiver
// on loopback that checks the HMAC signature: once per episode, closed when the condition clears;
// a webhook answering 500 is tried again after the backoff; e-mail only with SMARTHOST; the
// conditions with their thresholds; the staff digest once a day; and customer B can neither see
// nor change A's settings or deliveries. Last, the same through the real mailer's housekeeping.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { isMailharborError } from "../../lib/errors.ts";
import { rotateLogin } from "../../lib/logins/logins.ts";
import {
  getNotificationSettings,
  listNotificationDeliveries,
  listNotifications,
  updateNotificationSettings,
} from "../../lib/notifications/notification-settings.ts";
import { runNotifications, type NotificationOptions } from "../../lib/notifications/run-notifications.ts";
import { verifyWebhook } from "../../lib/notifications/webhook-signature.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { customerActor, holdMessage, makeCustomer, testMessage } from "../helpers/fixtures.ts";
import { startMailer } from "../helpers/mailer-process.ts";
import { sleep } from "../helpers/sleep.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

interface Hook {
  body: string;
  signature: string;
  status: number;
}

/** An HTTP receiver on loopback: records every POST and answers with the next status of `statuses` (then 200). */
async function webhookReceiver() {
  const received: Hook[] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = statuses.shift() ?? 200;
      received.push({ body: Buffer.concat(chunks).toString("utf8"), signature: String(req.headers["mailharbor-signature"] ?? ""), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, statuses, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function markBounceHeld(domain: string, held: boolean) {
  await getDb().domain.update({
    where: { name: domain },
    data: held
      ? { bounceHeldAt: new Date(), bounceHeldEvidence: { offered: 5, refused: 5, percent: 50, replies: [], at: new Date().toISOString() } }
      : { bounceHeldAt: null },
  });
}

describe("notifications", () => {
  let smarthost: SmtpReceiver;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  let options: NotificationOptions;

  beforeAll(async () => {
    smarthost = await startSmtpReceiver();
    hooks = await webhookReceiver();
    options = { smarthost: { host: "127.0.0.1", port: smarthost.port }, hostname: "mx.test.example", retryBaseSeconds: 1, staffEmail: "noc@isp.example" };
  });

  afterAll(async () => {
    await smarthost?.close();
    await hooks?.close();
  });

  const hooksFor = (customerId: string) => hooks.received.filter((h) => JSON.parse(h.body).customerId === customerId);
  const mailTo = (address: string) => smarthost.messages.filter((m) => m.rcptTo.includes(address));

  it("notifies once per episode by e-mail and a signed webhook; closes when cleared; a new episode notifies again", async () => {
    const a = await makeCustomer("Notified", ["notified.example"]);
    const saved = await updateNotificationSettings(customerActor(a), a.id, { email: "ops@notified.example", webhookUrl: hooks.url });
    expect(saved.webhookSecret).toMatch(/^whsec_/);
    const secret = saved.webhookSecret!;
    // the secret is shown once: saving again does not return it, and it is stored encrypted
    expect((await updateNotificationSettings(customerActor(a), a.id, { uncollectedHours: 12 })).webhookSecret).toBeNull();
    const row = await getDb().notificationSettings.findUniqueOrThrow({ where: { customerId: a.id } });
    expect(row.webhookSecretEnc).not.toContain(secret);

    await markBounceHeld("notified.example", true);
    await runNotifications(options);
    expect(mailTo("ops@notified.example")).toHaveLength(1);
    const mail = mailTo("ops@notified.example")[0];
    expect(mail.mailFrom).toBe("");
    expect(mail.raw.toString()).toMatch(/Subject: notified\.example held: receiving server refused most recipients/);
    expect(mail.raw.toString()).toContain("Auto-Submitted: auto-generated");
    const [hook] = hooksFor(a.id);
    expect(verifyWebhook(secret, hook.body, hook.signature)).toBe(true);
    expect(verifyWebhook(secret, hook.body.replace("notified", "tampered"), hook.signature)).toBe(false);
    expect(verifyWebhook("whsec_wrong", hook.body, hook.signature)).toBe(false);
    expect(JSON.parse(hook.body)).toMatchObject({ type: "bounce-held", data: { domain: "notified.example" } });

    // the condition goes on: nothing more is said
    await runNotifications(options);
    await runNotifications(options);
    expect(mailTo("ops@notified.example")).toHaveLength(1);
    expect(hooksFor(a.id)).toHaveLength(1);

    await markBounceHeld("notified.example", false);
    await runNotifications(options);
    expect(await getDb().notificationEpisode.count({ where: { customerId: a.id, condition: "bounce-held", closedAt: null } })).toBe(0);
    await markBounceHeld("notified.example", true);
    await runNotifications(options);
    expect(hooksFor(a.id)).toHaveLength(2);
    expect(await getDb().notificationEpisode.count({ where: { customerId: a.id, condition: "bounce-held" } })).toBe(2);
    const log = await listNotificationDeliveries(customerActor(a), a.id);
    expect(log.map((d) => `${d.channel}:${d.state}`).sort()).toEqual(["email:sent", "email:sent", "webhook:sent", "webhook:sent"]);
  });

  it("a webhook that first answers 500 is tried again after the backoff and then delivered", async () => {
    const r = await makeCustomer("Retried", ["retried.example"]);
    await updateNotificationSettings(CLI_ACTOR, r.id, { webhookUrl: hooks.url });
    await markBounceHeld("retried.example", true);
    hooks.statuses.push(500);
    await runNotifications(options);
    let [delivery] = await listNotificationDeliveries(CLI_ACTOR, r.id);
    expect(delivery).toMatchObject({ state: "pending", attempts: 1, lastStatus: 500, lastError: "HTTP 500" });
    // not due yet: nothing is posted
    await runNotifications(options);
    expect(hooksFor(r.id)).toHaveLength(1);
    await sleep(1200);
    await runNotifications(options);
    expect(hooksFor(r.id).map((h) => h.status)).toEqual([500, 200]);
    [delivery] = await listNotificationDeliveries(CLI_ACTOR, r.id);
    expect(delivery).toMatchObject({ state: "sent", attempts: 2, lastStatus: 200, lastError: null });
    // the same body both times, each signed afresh
    const [first, second] = hooksFor(r.id);
    expect(second.body).toBe(first.body);
  });

  it("held mail not collected, over a limit, or about to expire, and a rotated-out secret: each its own notification; without SMARTHOST only in the portal", async () => {
    const c = await makeCustomer("Piling", ["piling.example"]);
    await updateNotificationSettings(CLI_ACTOR, c.id, { email: "ops@piling.example", heldCountLimit: 1 });
    const ids = [
      await holdMessage([{ address: "u@piling.example", customer: c }], testMessage("one")),
      await holdMessage([{ address: "v@piling.example", customer: c }], testMessage("two")),
    ];
    await rotateLogin(CLI_ACTOR, c.login, { keepOldHours: 12 });
    await runNotifications({ ...options, smarthost: null });
    // fresh mail: over the count limit only; the old secret expires within a day
    expect((await listNotifications(CLI_ACTOR, c.id)).map((n) => n.condition).sort()).toEqual(["held-volume", "secret-expiring"]);
    // 28 days old with a 30-day retention: not collected for 24 hours, and expiring within 3 days
    await getDb().delivery.updateMany({ where: { messageId: { in: ids } }, data: { createdAt: new Date(Date.now() - 28 * 86_400_000) } });
    await runNotifications({ ...options, smarthost: null });
    const said = await listNotifications(CLI_ACTOR, c.id);
    expect(said.map((n) => n.condition).sort()).toEqual(["expiring", "held-volume", "secret-expiring", "uncollected"]);
    expect(said.find((n) => n.condition === "expiring")!.subject).toBe("piling.example: 2 held deliveries expire within 3 days");
    // no SMARTHOST: nothing to send the e-mail through, so no delivery at all
    expect(await listNotificationDeliveries(CLI_ACTOR, c.id)).toEqual([]);
    expect(mailTo("ops@piling.example")).toHaveLength(0);
  });

  it("staff get one digest a day, by e-mail to STAFF_NOTIFY_EMAIL, with the held DSNs", async () => {
    await runNotifications(options);
    await runNotifications(options);
    const digests = await listNotifications(CLI_ACTOR, null);
    const today = digests.filter((n) => n.condition === "staff-digest");
    expect(today).toHaveLength(1);
    expect(today[0].text).toMatch(/Held by bounce protection: .*notified\.example/);
    expect(today[0].text).toMatch(/DSNs held because no SMARTHOST is set: 0/);
    expect(mailTo("noc@isp.example")).toHaveLength(1);
  });

  it("customer B can neither see nor change A's settings, notifications or deliveries (the other customer's id)", async () => {
    const a = await makeCustomer("Owner", ["owner.example"]);
    const b = await makeCustomer("Other", ["other.example"]);
    await updateNotificationSettings(CLI_ACTOR, a.id, { email: "ops@owner.example" });
    const attempts = [
      () => getNotificationSettings(customerActor(b), a.id),
      () => updateNotificationSettings(customerActor(b), a.id, { email: "thief@other.example" }),
      () => listNotificationDeliveries(customerActor(b), a.id),
      () => listNotifications(customerActor(b), a.id),
      () => listNotifications(customerActor(b), null),
    ];
    for (const attempt of attempts) {
      const error = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(isMailharborError(error, "NOT_FOUND") || isMailharborError(error, "FORBIDDEN")).toBe(true);
    }
    expect((await getNotificationSettings(CLI_ACTOR, a.id)).email).toBe("ops@owner.example");
    expect((await getNotificationSettings(customerActor(b), b.id)).email).toBeNull();
  });

  it("runs from the mailer's housekeeping: a domain held by bounce protection reaches the customer's webhook", async () => {
    const h = await makeCustomer("Housekept", ["housekept.example"]);
    const { webhookSecret } = await updateNotificationSettings(CLI_ACTOR, h.id, { webhookUrl: hooks.url });
    await markBounceHeld("housekept.example", true);
    const mailer = await startMailer({ HOUSEKEEPING_INTERVAL_SECONDS: "1", SMARTHOST: `127.0.0.1:${smarthost.port}`, NOTIFY_RETRY_BASE_SECONDS: "1" });
    try {
      await expect.poll(() => hooksFor(h.id).length, { timeout: 20_000 }).toBe(1);
      const [hook] = hooksFor(h.id);
      expect(verifyWebhook(webhookSecret!, hook.body, hook.signature)).toBe(true);
    } finally {
      await mailer.stop();
    }
  }, 150_000);
});
