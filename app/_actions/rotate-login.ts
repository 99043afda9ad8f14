"use server";
// Rotating an ODMR login's secret: staff for any login, a customer for its own (the core scopes it).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import type { Actor } from "@/lib/actor.ts";
import { getConnectionGuide, NO_DOMAIN_YET } from "@/lib/logins/connection-guide.ts";
import { rotateLogin } from "@/lib/logins/logins.ts";
import { uuidSchema } from "@/lib/validation/schemas.ts";

const schema = z.object({
  id: uuidSchema,
  keepOldHours: z.coerce
    .number({ message: "a number of hours" })
    .int("a whole number of hours")
    .min(0, "0 or more hours")
    .max(2160, "at most 2160 hours (90 days)"),
});

export async function rotateLoginAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>("any", async (actor) => {
    const { id, keepOldHours } = parseForm(schema, form);
    const rotated = await rotateLogin(actor, id, { keepOldHours });
    const guide = await getConnectionGuide(actor, id, { secret: rotated.secret });
    revalidatePath(actor.type === "staff" ? `/staff/logins/${id}` : `/my/logins/${id}`);
    return {
      message: `New secret issued for ${rotated.login}.`,
      secret: {
        label: `New secret for ${rotated.login}`,
        value: rotated.secret,
        note: [
          keepOldHours > 0
            ? `The previous secret keeps working until ${rotated.oldSecretsExpireAt.toISOString().slice(0, 16).replace("T", " ")} UTC; update your server before then.`
            : "The previous secret has stopped working.",
          guide.fetchmail ? "" : NO_DOMAIN_YET,
        ]
          .filter(Boolean)
          .join(" "),
        snippet: guide.fetchmail?.plain,
      },
    };
  });
}
