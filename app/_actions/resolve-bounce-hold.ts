"use server";
// Ending a bounce-protection hold: staff for any domain, a customer for its own (the core scopes it).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import type { Actor } from "@/lib/actor.ts";
import { resolveBounceHold } from "@/lib/protection/resolve-bounce-hold.ts";
import { uuidSchema } from "@/lib/validation/schemas.ts";

const schema = z.object({ id: uuidSchema, action: z.enum(["bounce", "retry"]) });

export async function resolveBounceHoldAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>("any", async (actor) => {
    const { id, action } = parseForm(schema, form);
    const done = await resolveBounceHold(actor, id, action);
    revalidatePath(actor.type === "customer" ? "/my" : `/staff/domains/${id}`);
    return {
      message:
        action === "bounce"
          ? `${done.deliveries} refused deliveries bounced; ${done.dsns} senders are told (DSN).`
          : `Hold cleared: ${done.deliveries} refused deliveries are offered again at the next collection.`,
    };
  });
}
