"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import type { StaffActor } from "@/app/_server/auth.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import { resetTwoFactor } from "@/lib/users/two-factor.ts";
import { createPortalUser, resetPortalUserPassword, setPortalUserDisabled } from "@/lib/users/users.ts";
import { emailSchema, uuidSchema } from "@/lib/validation/schemas.ts";

const schema = z
  .object({
    email: emailSchema,
    role: z.enum(["staff", "customer"], { message: "choose staff or customer" }),
    customerId: uuidSchema.optional(),
  })
  .refine((data) => data.role !== "customer" || data.customerId, { message: "choose the customer this user administers", path: ["customerId"] })
  .refine((data) => data.role !== "staff" || !data.customerId, {
    message: "staff users belong to no customer: set the customer to none",
    path: ["customerId"],
  });

/** Creates a portal user with a generated one-time password, shown once. */
export async function createUserAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const data = parseForm(schema, form);
    const { user, password } = await createPortalUser(actor, {
      email: data.email,
      role: data.role,
      customer: data.role === "customer" ? data.customerId : undefined,
    });
    revalidatePath("/staff/users");
    if (data.customerId) revalidatePath(`/staff/customers/${data.customerId}`);
    return {
      message: `User ${user.email} created.`,
      secret: {
        label: `Password for ${user.email}`,
        value: password,
        note: "Give it to the user by a safe channel. It works once: they must choose their own password when they first sign in.",
      },
    };
  });
}

export async function setUserDisabledAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id, disabled } = parseForm(z.object({ id: uuidSchema, disabled: z.enum(["yes", "no"]) }), form);
    await setPortalUserDisabled(actor, id, disabled === "yes");
    revalidatePath("/staff/users");
    return { message: disabled === "yes" ? "Disabled." : "Enabled." };
  });
}

/** A new one-time password for the user (shown once); their sessions end. */
export async function resetPasswordAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(z.object({ id: uuidSchema }), form);
    const { user, password } = await resetPortalUserPassword(actor, id);
    revalidatePath(`/staff/users/${user.id}`);
    return {
      message: `New one-time password for ${user.email}; their sessions have ended.`,
      secret: {
        label: `One-time password for ${user.email}`,
        value: password,
        note: "Give it to the user by a safe channel. They must choose their own password when they sign in with it.",
      },
    };
  });
}

/** Turns the user's two-factor sign-in off (a lost phone); they may set it up again. */
export async function resetTwoFactorAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(z.object({ id: uuidSchema }), form);
    await resetTwoFactor(actor, id);
    revalidatePath(`/staff/users/${id}`);
    return { message: "Two-factor sign-in is off for this user." };
  });
}
