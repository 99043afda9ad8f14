"use server";
import { headers } from "next/headers";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import type { Actor } from "@/lib/actor.ts";
import { clientAddress } from "@/lib/auth/portal-session.ts";
import { MailharborError } from "@/lib/errors.ts";
import { changeOwnPassword } from "@/lib/users/users.ts";
import { passwordSchema } from "@/lib/validation/schemas.ts";

const schema = z.object({
  current: z.string({ message: "enter your current password" }).min(1, "enter your current password"),
  next: passwordSchema,
  repeat: z.string({ message: "repeat the new password" }),
});

export async function changePasswordAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>("any", async (actor) => {
    const data = parseForm(schema, form);
    if (data.next !== data.repeat) throw new MailharborError("INVALID_INPUT", "repeat: the two new passwords differ", { field: "repeat" });
    try {
      await changeOwnPassword(actor, data.current, data.next, clientAddress(Object.fromEntries(await headers())));
    } catch (error) {
      if (error instanceof MailharborError && error.code === "AUTH_FAILED") {
        throw new MailharborError("INVALID_INPUT", "current: the current password is wrong", { field: "current" });
      }
      throw error;
    }
    // every session signed in before the change has ended, this one too
    return { message: "Your password has been changed. Sign in again with the new one." };
  });
}
