// A customer's notification settings (issue 12 §3): where it is told (an e-mail address through
// SMARTHOST, a webhook URL) and the thresholds of its conditions. Staff set them for any customer,
// a customer for itself only; another customer's id is NOT_FOUND. The webhook signing secret is
// generated here, kept encrypted under the server key (secret-box.ts) and returned once.
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { customerScope, requireOperator } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { generateSecret } from "../auth/generate-secret.ts";
import { encryptSecret, getServerKey } from "../auth/secret-box.ts";
import { getCustomer } from "../customers/customers.ts";
import { dbWork, getDb } from "../db/client.ts";
import { parseInput } from "../validation/parse-input.ts";
import { emailSchema } from "../validation/schemas.ts";

/** The defaults of a customer that never saved settings (the same as the table's column defaults). */
export const NOTIFICATION_DEFAULTS = { uncollectedHours: 24, heldCountLimit: 1000, heldMbLimit: 500, expiryWarningDays: 3 } as const;

const webhookUrlSchema = z
  .string()
  .trim()
  .max(2000, "at most 2000 characters")
  .refine((v) => {
    try {
      const url = new URL(v);
      return (url.protocol === "https:" || url.protocol === "http:") && !url.username && !url.password;
    } catch {
      return false;
    }
  }, "must be an http:// or https:// URL without credentials");

const settingsSchema = z.object({
  email: emailSchema.nullable().optional(),
  webhookUrl: webhookUrlSchema.nullable().optional(),
  uncollectedHours: z
    .number()
    .int()
    .min(1, "at least 1 hour")
    .max(24 * 365, "at most a year")
    .optional(),
  heldCountLimit: z.number().int().min(1, "at least 1").nullable().optional(),
  heldMbLimit: z.number().int().min(1, "at least 1 MB").nullable().optional(),
  expiryWarningDays: z.number().int().min(1, "at least 1 day").max(365, "at most 365 days").optional(),
  /** a new webhook secret (the old one stops verifying at once) */
  regenerateSecret: z.boolean().optional(),
});

export type NotificationSettingsInput = z.input<typeof settingsSchema>;

export interface NotificationSettingsView {
  customerId: string;
  email: string | null;
  webhookUrl: string | null;
  hasWebhookSecret: boolean;
  uncollectedHours: number;
  heldCountLimit: number | null;
  heldMbLimit: number | null;
  expiryWarningDays: number;
}

/** The settings, or the defaults when none were saved; NOT_FOUND for a customer out of reach. */
export async function getNotificationSettings(actor: Actor, customerRef: string): Promise<NotificationSettingsView> {
  const customer = await getCustomer(actor, customerRef);
  const row = await dbWork(() => getDb().notificationSettings.findUnique({ where: { customerId: customer.id } }));
  return {
    customerId: customer.id,
    email: row?.email ?? null,
    webhookUrl: row?.webhookUrl ?? null,
    hasWebhookSecret: Boolean(row?.webhookSecretEnc),
    uncollectedHours: row?.uncollectedHours ?? NOTIFICATION_DEFAULTS.uncollectedHours,
    heldCountLimit: row ? row.heldCountLimit : NOTIFICATION_DEFAULTS.heldCountLimit,
    heldMbLimit: row ? row.heldMbLimit : NOTIFICATION_DEFAULTS.heldMbLimit,
    expiryWarningDays: row?.expiryWarningDays ?? NOTIFICATION_DEFAULTS.expiryWarningDays,
  };
}

/**
 * Saves the settings. A webhook secret is made when a webhook URL is first set (or on
 * regenerateSecret) and returned as `webhookSecret`, this once; removing the URL removes it.
 */
export async function updateNotificationSettings(actor: Actor, customerRef: string, input: NotificationSettingsInput) {
  const { regenerateSecret, ...data } = parseInput(settingsSchema, input);
  const current = await getNotificationSettings(actor, customerRef);
  const webhookUrl = data.webhookUrl !== undefined ? data.webhookUrl || null : current.webhookUrl;
  let webhookSecret: string | null = null;
  let webhookSecretEnc: string | null | undefined;
  if (!webhookUrl) webhookSecretEnc = null;
  else if (regenerateSecret || !current.hasWebhookSecret) {
    webhookSecret = `whsec_${generateSecret(32)}`;
    webhookSecretEnc = encryptSecret(webhookSecret, getServerKey());
  }
  const fields = { ...data, webhookUrl, ...(webhookSecretEnc !== undefined ? { webhookSecretEnc } : {}) };
  await dbWork(() =>
    getDb().$transaction(async (tx) => {
      await tx.notificationSettings.upsert({
        where: { customerId: current.customerId },
        create: { customerId: current.customerId, ...fields },
        update: fields,
      });
      await recordAuditEvent(tx, actor, {
        action: "notifications.update",
        objectType: "customer",
        objectId: current.customerId,
        customerId: current.customerId,
        details: { ...data, webhookUrl, webhookSecret: webhookSecret ? "generated" : undefined },
      });
    }),
  );
  return { settings: await getNotificationSettings(actor, current.customerId), webhookSecret };
}

/** The delivery log: newest first; a customer's own, or (staff) one customer's or the staff notifications' (customerId null). */
export async function listNotificationDeliveries(actor: Actor, customerRef: string | null, take = 50) {
  const customerId = await scopedCustomerId(actor, customerRef);
  return dbWork(() =>
    getDb().notificationDelivery.findMany({
      where: { customerId },
      orderBy: { createdAt: "desc" },
      take,
      select: {
        id: true,
        channel: true,
        target: true,
        state: true,
        attempts: true,
        lastError: true,
        lastStatus: true,
        sentAt: true,
        createdAt: true,
        nextAttemptAt: true,
        notification: { select: { subject: true, condition: true } },
      },
    }),
  );
}

/** What was said (shown in the portal also when nothing could be sent), newest first. */
export async function listNotifications(actor: Actor, customerRef: string | null, take = 50) {
  const customerId = await scopedCustomerId(actor, customerRef);
  return dbWork(() =>
    getDb().notification.findMany({
      where: { customerId },
      orderBy: { createdAt: "desc" },
      take,
      select: { id: true, condition: true, subject: true, text: true, createdAt: true, episode: { select: { closedAt: true } } },
    }),
  );
}

/** The customer id to filter on: the actor's own for a customer; null (staff notifications) only for staff. */
async function scopedCustomerId(actor: Actor, customerRef: string | null): Promise<string | null> {
  if (customerRef === null) {
    requireOperator(actor);
    return null;
  }
  customerScope(actor);
  return (await getCustomer(actor, customerRef)).id;
}
