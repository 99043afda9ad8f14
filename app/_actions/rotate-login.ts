"use server";
// Rotating an ODMR login's secret: staff for any login, a customer for its own (the core scopes it).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import type { Actor } from "@/lib/actor.ts";
import { getConfig } from "@/lib/config/config.ts";
import { listDomains } from "@/lib/domains/domains.ts";
import { fetchmailRc } from "@/lib/logins/fetchmail-rc.ts";
import { getLogin, rotateLogin } from "@/lib/logins/logins.ts";
import { uuidSchema } from "@/lib/validation/schemas.ts";

const schema = z.object({
  id: uuidSchema,
  keepOldHours: z.coerce.number({ message: "a number of hours" }).int("a whole number of hours").min(0, "0 or more hours").max(2160, "at most 2160 hours (90 days)"),
});

export async function rotateLoginAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>("any", async (actor) => {
    const { id, keepOldHours } = parseForm(schema, form);
    const rotated = await rotateLogin(actor, id, { keepOldHours });
    const login = await getLogin(actor, id);
    const domains = login.allDomains
      ? (await listDomains(actor, { customerId: login.customerId })).map((d) => d.name)
      : login.domains.map((d) => d.domain.name);
    const config = getConfig();
    revalidatePath(actor.type === "staff" ? `/staff/logins/${id}` : `/my/logins/${id}`);
    return {
      message: `New secret issued for ${rotated.login}.`,
      secret: {
        label: `New secret for ${rotated.login}`,
        value: rotated.secret,
        note: keepOldHours > 0
          ? `The previous secret keeps working until ${rotated.oldSecretsExpireAt.toISOString().slice(0, 16).replace("T", " ")} UTC; update your server before then.`
          : "The previous secret has stopped working.",
        snippet: fetchmailRc({ host: config.MAIL_HOSTNAME, port: config.ODMR_PORT, login: rotated.login, secret: rotated.secret, domains }),
      },
    };
  });
}
