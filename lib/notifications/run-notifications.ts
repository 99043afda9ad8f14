// One notification pass, run by housekeeping (one mailer at a time): each condition notifies once
// per episode. A condition found active with no open episode opens one (the partial unique index
// makes that happen once even with two passes at a time) and stores what is said, shown in the
// portal, with one delivery per destination: the customer's e-mail (through SMARTHOST; none
// without it) and webhook, or for staff STAFF_NOTIFY_EMAIL. An open episode whose condition is no
// longer found is closed; the next occurrence is a new episode. Then due deliveries are sent:
// webhooks as signed JSON POSTs (webhook-signature.ts), e-mail with MAIL FROM:<> and
// Auto-Submitted: auto-generated (RFC 3834 §5); a failure is tried again after
// NOTIFY_RETRY_BASE_SECONDS, doubling, MAX_ATTEMPTS in all, and then marked failed.
import crypto from "node:crypto";
import { findActiveConditions, type ActiveCondition } from "./conditions.ts";
import { SIGNATURE_HEADER, signWebhook } from "./webhook-signature.ts";
import { decryptSecret, getServerKey } from "../auth/secret-box.ts";
import { queueQuery, queueTransaction } from "../db/pg-pool.ts";
import { rfc5322Date } from "../dsn/build-dsn.ts";
import { sendThroughSmarthost, type Smarthost } from "../dsn/send-dsns.ts";

export const MAX_ATTEMPTS = 8;
const WEBHOOK_TIMEOUT_MS = 10_000;
const SEND_BATCH = 50;

export interface NotificationOptions {
  smarthost: Smarthost | null;
  hostname: string;
  staffEmail?: string;
  retryBaseSeconds: number;
}

export interface NotificationReport {
  opened: number;
  closed: number;
  sent: number;
  retried: number;
  failed: number;
}

interface DueDelivery {
  id: string;
  channel: "email" | "webhook";
  target: string;
  attempts: number;
  notification_id: string;
  customer_id: string | null;
  condition: string;
  subject: string;
  text: string;
  data: unknown;
  created_at: Date;
  secret_enc: string | null;
}

export async function runNotifications(options: NotificationOptions): Promise<NotificationReport> {
  const report: NotificationReport = { opened: 0, closed: 0, sent: 0, retried: 0, failed: 0 };
  const active = await findActiveConditions({ smarthost: options.smarthost !== null });
  const open = await queueQuery<{ id: string; condition: string; object_key: string }>(
    `SELECT id::text AS id, condition, object_key FROM notification_episode WHERE closed_at IS NULL`,
  );
  const key = (condition: string, objectKey: string) => `${condition}\u0000${objectKey}`;
  const activeKeys = new Set(active.map((c) => key(c.condition, c.objectKey)));
  const openKeys = new Set(open.map((e) => key(e.condition, e.object_key)));
  const cleared = open.filter((e) => !activeKeys.has(key(e.condition, e.object_key))).map((e) => e.id);
  if (cleared.length) {
    await queueQuery(`UPDATE notification_episode SET closed_at = now() WHERE id = ANY($1::uuid[])`, [cleared]);
    report.closed = cleared.length;
  }
  for (const condition of active) {
    if (!openKeys.has(key(condition.condition, condition.objectKey)) && (await openEpisode(condition, options))) report.opened++;
  }
  await sendDue(options, report);
  return report;
}

/** Opens the episode with its notification and deliveries; false when another pass opened it first. */
function openEpisode(condition: ActiveCondition, options: NotificationOptions): Promise<boolean> {
  return queueTransaction(async (query) => {
    const [episode] = await query<{ id: string }>(
      `INSERT INTO notification_episode (id, condition, object_key, customer_id) VALUES (gen_random_uuid(), $1, $2, $3::uuid)
       ON CONFLICT (condition, object_key) WHERE closed_at IS NULL DO NOTHING RETURNING id::text AS id`,
      [condition.condition, condition.objectKey, condition.customerId],
    );
    if (!episode) return false;
    const [notification] = await query<{ id: string }>(
      `INSERT INTO notification (id, episode_id, customer_id, condition, subject, text, data)
       VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3, $4, $5, $6::jsonb) RETURNING id::text AS id`,
      [episode.id, condition.customerId, condition.condition, condition.subject, condition.text, JSON.stringify(condition.data)],
    );
    const targets: { channel: string; target: string }[] = [];
    if (condition.customerId === null) {
      if (options.staffEmail && options.smarthost) targets.push({ channel: "email", target: options.staffEmail });
    } else {
      const [settings] = await query<{ email: string | null; webhook_url: string | null }>(
        `SELECT email, webhook_url FROM notification_settings WHERE customer_id = $1::uuid`,
        [condition.customerId],
      );
      // without SMARTHOST e-mail cannot leave: the notification is shown in the portal only
      if (settings?.email && options.smarthost) targets.push({ channel: "email", target: settings.email });
      if (settings?.webhook_url) targets.push({ channel: "webhook", target: settings.webhook_url });
    }
    for (const t of targets) {
      await query(
        `INSERT INTO notification_delivery (id, notification_id, customer_id, channel, target) VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3, $4)`,
        [notification.id, condition.customerId, t.channel, t.target],
      );
    }
    return true;
  });
}

/** The webhook's JSON body: the same on every attempt (the signature's timestamp changes). */
export function webhookBody(d: Pick<DueDelivery, "notification_id" | "customer_id" | "condition" | "subject" | "text" | "data" | "created_at">): string {
  return JSON.stringify({
    id: d.notification_id,
    type: d.condition,
    customerId: d.customer_id,
    subject: d.subject,
    text: d.text,
    data: d.data,
    createdAt: d.created_at.toISOString(),
  });
}

async function postWebhook(d: DueDelivery): Promise<{ ok: boolean; status: number | null; error: string | null }> {
  if (!d.secret_enc) return { ok: false, status: null, error: "no webhook secret" };
  const body = webhookBody(d);
  const signature = signWebhook(decryptSecret(d.secret_enc, getServerKey()), body, Math.floor(Date.now() / 1000));
  try {
    const response = await fetch(d.target, {
      method: "POST",
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      headers: { "Content-Type": "application/json", "User-Agent": "Mailharbor-Webhook", [SIGNATURE_HEADER]: signature, "Mailharbor-Delivery": d.id },
    });
    await response.body?.cancel();
    return { ok: response.status >= 200 && response.status < 300, status: response.status, error: response.ok ? null : `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, status: null, error: (error as Error).message };
  }
}

function emailMessage(d: DueDelivery, hostname: string): Buffer {
  const subject = d.subject.replace(/[\r\n]+/g, " ");
  return Buffer.from(
    [
      `From: Mailharbor <postmaster@${hostname}>`,
      `To: <${d.target}>`,
      `Subject: ${subject}`,
      `Date: ${rfc5322Date(new Date())}`,
      `Message-ID: <${crypto.randomUUID()}@${hostname}>`,
      "Auto-Submitted: auto-generated",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      ...d.text.split("\n"),
      "",
    ].join("\r\n"),
  );
}

async function sendDue(options: NotificationOptions, report: NotificationReport): Promise<void> {
  const due = await queueQuery<DueDelivery>(
    `
    SELECT nd.id::text AS id, nd.channel, nd.target, nd.attempts, n.id::text AS notification_id, n.customer_id::text AS customer_id,
      n.condition, n.subject, n.text, n.data, n.created_at, ns.webhook_secret_enc AS secret_enc
    FROM notification_delivery nd JOIN notification n ON n.id = nd.notification_id
    LEFT JOIN notification_settings ns ON ns.customer_id = nd.customer_id
    WHERE nd.state = 'pending' AND nd.next_attempt_at <= now()
    ORDER BY nd.next_attempt_at LIMIT $1`,
    [SEND_BATCH],
  );
  for (const d of due) {
    let result: { ok: boolean; status: number | null; error: string | null };
    if (d.channel === "webhook") result = await postWebhook(d);
    else if (!options.smarthost) result = { ok: false, status: null, error: "no SMARTHOST" };
    else {
      try {
        await sendThroughSmarthost(options.smarthost, options.hostname, d.target, emailMessage(d, options.hostname), 30_000);
        result = { ok: true, status: 250, error: null };
      } catch (error) {
        const e = error as { responseCode?: number; message: string };
        result = { ok: false, status: e.responseCode ?? null, error: e.message };
      }
    }
    const attempts = d.attempts + 1;
    if (result.ok) {
      await queueQuery(
        `UPDATE notification_delivery SET state = 'sent', attempts = $2, last_status = $3, last_error = NULL, sent_at = now() WHERE id = $1::uuid`,
        [d.id, attempts, result.status],
      );
      report.sent++;
    } else if (attempts >= MAX_ATTEMPTS) {
      await queueQuery(`UPDATE notification_delivery SET state = 'failed', attempts = $2, last_status = $3, last_error = $4 WHERE id = $1::uuid`, [
        d.id,
        attempts,
        result.status,
        result.error?.slice(0, 500),
      ]);
      report.failed++;
    } else {
      const delay = options.retryBaseSeconds * 2 ** (attempts - 1);
      await queueQuery(
        `UPDATE notification_delivery SET attempts = $2, last_status = $3, last_error = $4, next_attempt_at = now() + make_interval(secs => $5) WHERE id = $1::uuid`,
        [d.id, attempts, result.status, result.error?.slice(0, 500), delay],
      );
      report.retried++;
    }
  }
}
