"use server";
// "Deliver now": staff for any domain with ETRN, a customer for its own (the core scopes it).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import type { Actor } from "@/lib/actor.ts";
import { requestEtrnRelease } from "@/lib/etrn/release-requests.ts";
import { uuidSchema } from "@/lib/validation/schemas.ts";

const schema = z.object({ id: uuidSchema });

export async function releaseDomainAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>("any", async (actor) => {
    const { id } = parseForm(schema, form);
    await requestEtrnRelease(actor, id);
    revalidatePath(actor.type === "customer" ? "/my" : `/staff/domains/${id}`);
    return { message: "Delivery requested: the mailer starts it within a few seconds. The run appears among the sessions when it has started." };
  });
}
