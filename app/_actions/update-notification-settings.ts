"use server";
// Notification settings: staff for any customer, a customer for itself (the core scopes it).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import { checked, parseForm } from "@/app/_server/form-data.ts";
import type { Actor } from "@/lib/actor.ts";
import { updateNotificationSettings } from "@/lib/notifications/notification-settings.ts";
import { uuidSchema } from "@/lib/validation/schemas.ts";

const whole = z.coerce.number({ message: "a whole number" }).int("a whole number");
const schema = z.object({
  customerId: uuidSchema,
  uncollectedHours: whole,
  expiryWarningDays: whole,
  heldCountLimit: whole.optional(),
  heldMbLimit: whole.optional(),
});

/** A text field left empty clears the setting. */
function text(form: FormData, name: string): string | null {
  return String(form.get(name) ?? "").trim() || null;
}

export async function updateNotificationSettingsAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>("any", async (actor) => {
    const data = parseForm(schema, form);
    const { webhookSecret } = await updateNotificationSettings(actor, data.customerId, {
      email: text(form, "email"),
      webhookUrl: text(form, "webhookUrl"),
      uncollectedHours: data.uncollectedHours,
      expiryWarningDays: data.expiryWarningDays,
      heldCountLimit: data.heldCountLimit ?? null,
      heldMbLimit: data.heldMbLimit ?? null,
      regenerateSecret: checked(form, "regenerateSecret"),
    });
    revalidatePath(actor.type === "customer" ? "/my/notifications" : `/staff/customers/${data.customerId}`);
    return {
      message: "Notification settings saved.",
      ...(webhookSecret
        ? {
            secret: {
              label: "Webhook signing secret",
              value: webhookSecret,
              note: "Shown once. Verify the Mailharbor-Signature header of every webhook with it (see the README).",
            },
          }
        : {}),
    };
  });
}
