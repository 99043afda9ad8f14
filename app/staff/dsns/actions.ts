"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import type { StaffActor } from "@/app/_server/auth.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import { sendDsnNow } from "@/lib/dsn/send-dsn-now.ts";
import { uuidSchema } from "@/lib/validation/schemas.ts";

const OUTCOME = {
  sent: "Sent: the smarthost accepted the DSN.",
  pending: "The smarthost deferred it; the next housekeeping run tries again.",
  failed: "The smarthost refused it; it stays held (see the last error).",
  held: "Not sent; it stays held.",
} as const;

export async function sendDsnNowAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(z.object({ id: uuidSchema }), form);
    const { dsn, connectError } = await sendDsnNow(actor, id);
    revalidatePath(`/staff/dsns/${id}`);
    revalidatePath("/staff/dsns");
    return { message: connectError ? `The smarthost could not be reached (${connectError}); nothing was sent.` : OUTCOME[dsn.status] };
  });
}
