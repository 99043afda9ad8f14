"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import type { StaffActor } from "@/app/_server/auth.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import { createPortalUser, setPortalUserDisabled } from "@/lib/users/users.ts";
import { emailSchema, uuidSchema } from "@/lib/validation/schemas.ts";

const schema = z.object({
  email: emailSchema,
  role: z.enum(["staff", "customer"], { message: "choose staff or customer" }),
  customerId: uuidSchema.optional(),
}).refine((data) => data.role !== "customer" || data.customerId, { message: "choose the customer this user administers", path: ["customerId"] })
  .refine((data) => data.role !== "staff" || !data.customerId, { message: "staff users belong to no customer: set the customer to none", path: ["customerId"] });

/** Creates a portal user with a generated password, shown once. */
export async function createUserAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const data = parseForm(schema, form);
    const { user, password } = await createPortalUser(actor, {
      email: data.email, role: data.role, customer: data.role === "customer" ? data.customerId : undefined,
    });
    revalidatePath("/staff/users");
    if (data.customerId) revalidatePath(`/staff/customers/${data.customerId}`);
    return {
      message: `User ${user.email} created.`,
      secret: { label: `Password for ${user.email}`, value: password, note: "Give it to the user by a safe channel; they can change it under Your account." },
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
