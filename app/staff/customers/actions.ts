"use server";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import type { StaffActor } from "@/app/_server/auth.ts";
import { flash } from "@/app/_server/flash.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import { createCustomer, deleteCustomer, setCustomerStatus, updateCustomer } from "@/lib/customers/customers.ts";
import { customerNameSchema, emailSchema, uuidSchema } from "@/lib/validation/schemas.ts";

const detailsSchema = z.object({
  name: customerNameSchema,
  email: emailSchema.optional(),
});
const idSchema = z.object({ id: uuidSchema });

export async function createCustomerAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  let id = "";
  const result = await runAction<StaffActor>("staff", async (actor) => {
    const data = parseForm(detailsSchema, form);
    const customer = await createCustomer(actor, { name: data.name, email: data.email ?? null });
    id = customer.id;
    await flash(`Customer ${customer.name} created. Next: an ODMR login and a domain.`);
  });
  if (result.ok) redirect(`/staff/customers/${id}`);
  return result;
}

export async function updateCustomerAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id, ...data } = parseForm(idSchema.extend(detailsSchema.shape), form);
    await updateCustomer(actor, id, { name: data.name, email: data.email ?? null });
    revalidatePath(`/staff/customers/${id}`);
    return { message: "Saved." };
  });
}

export async function setCustomerStatusAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id, status } = parseForm(idSchema.extend({ status: z.enum(["active", "suspended"]) }), form);
    await setCustomerStatus(actor, id, status);
    revalidatePath(`/staff/customers/${id}`);
    return { message: status === "suspended" ? "Suspended: ATRN is refused and inbound mail is deferred." : "Resumed." };
  });
}

export async function deleteCustomerAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  const result = await runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(idSchema, form);
    const { name } = await deleteCustomer(actor, id);
    await flash(`Customer ${name} deleted.`);
  });
  if (result.ok) redirect("/staff/customers");
  return result;
}
