"use server";
import { revalidatePath } from "next/cache";
import { headers } from "next/headers";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import { clientAddress } from "@/app/_server/portal-session.ts";
import type { Actor } from "@/lib/actor.ts";
import { MailharborError } from "@/lib/errors.ts";
import { confirmTwoFactorEnrolment, disableTwoFactor, startTwoFactorEnrolment } from "@/lib/users/two-factor.ts";
import { changeOwnPassword } from "@/lib/users/users.ts";
import { passwordSchema } from "@/lib/validation/schemas.ts";

const schema = z.object({
  current: z.string({ message: "enter your current password" }).min(1, "enter your current password"),
  next: passwordSchema,
  repeat: z.string({ message: "repeat the new password" }),
});

async function address(): Promise<string> {
  return clientAddress(Object.fromEntries(await headers()));
}

/** Also the form of the forced change after a one-time password (/setup/password). */
export async function changePasswordAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>(
    "any",
    async (actor) => {
      const data = parseForm(schema, form);
      if (data.next !== data.repeat) throw new MailharborError("INVALID_INPUT", "repeat: the two new passwords differ", { field: "repeat" });
      try {
        await changeOwnPassword(actor, data.current, data.next, await address());
      } catch (error) {
        if (error instanceof MailharborError && error.code === "AUTH_FAILED") {
          throw new MailharborError("INVALID_INPUT", "current: the current password is wrong", { field: "current" });
        }
        throw error;
      }
      // every session signed in before the change has ended, this one too
      return { message: "Your password has been changed. Sign in again with the new one." };
    },
    "password",
  );
}

/** Sets a TOTP secret aside; the page then shows it (QR code and text) with the confirmation form. */
export async function startTwoFactorAction(_: ActionResult | null, _form: FormData): Promise<ActionResult> {
  return runAction<Actor>(
    "any",
    async (actor) => {
      await startTwoFactorEnrolment(actor);
      revalidatePath("/account");
      revalidatePath("/setup/two-factor");
    },
    "two-factor",
  );
}

export async function confirmTwoFactorAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>(
    "any",
    async (actor) => {
      const { code } = parseForm(z.object({ code: z.string({ message: "enter the code your app shows" }) }), form);
      const codes = await confirmTwoFactorEnrolment(actor, code, await address());
      // no revalidation: the page would replace this form, and the recovery codes with it
      return {
        message: "Two-factor sign-in is on. From now on, signing in asks for a code from your app after the password.",
        secret: {
          label: "Recovery codes",
          value: codes.join("  "),
          note: "Each code signs you in once in place of a code from the app, if you lose your phone. Keep them somewhere safe, away from the phone.",
        },
      };
    },
    "two-factor",
  );
}

export async function disableTwoFactorAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<Actor>("any", async (actor) => {
    const { proof } = parseForm(z.object({ proof: z.string({ message: "enter a current code or your password" }) }), form);
    await disableTwoFactor(actor, proof, await address());
    revalidatePath("/account");
    return { message: "Two-factor sign-in is off." };
  });
}
