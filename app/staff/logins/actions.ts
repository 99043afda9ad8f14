"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import type { StaffActor } from "@/app/_server/auth.ts";
import { checked, parseForm } from "@/app/_server/form-data.ts";
import { MailharborError } from "@/lib/errors.ts";
import { getConnectionGuide, NO_DOMAIN_YET } from "@/lib/logins/connection-guide.ts";
import { createLogin, getLogin, restrictLogin, setLoginStatus } from "@/lib/logins/logins.ts";
import { loginNameSchema, uuidSchema } from "@/lib/validation/schemas.ts";

const idSchema = z.object({ id: uuidSchema });

export async function createLoginAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const data = parseForm(z.object({ customerId: uuidSchema, login: loginNameSchema }), form);
    const { login, secret } = await createLogin(actor, { customer: data.customerId, login: data.login });
    const guide = await getConnectionGuide(actor, login.id, { secret });
    revalidatePath(`/staff/customers/${data.customerId}`);
    return {
      message: `Login ${login.login} created.`,
      secret: {
        label: `Secret for ${login.login}`,
        value: secret,
        snippet: guide.fetchmail?.plain,
        note: guide.fetchmail ? undefined : NO_DOMAIN_YET,
      },
    };
  });
}

export async function setLoginStatusAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id, status } = parseForm(idSchema.extend({ status: z.enum(["active", "disabled"]) }), form);
    const login = await setLoginStatus(actor, id, status);
    revalidatePath(`/staff/logins/${id}`);
    return { message: status === "disabled" ? `${login.login} is disabled: it can no longer authenticate.` : `${login.login} is enabled again.` };
  });
}

export async function restrictLoginAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(idSchema, form);
    const all = checked(form, "allDomains");
    const names = form.getAll("domain").map(String);
    if (!all && names.length === 0) {
      throw new MailharborError("INVALID_INPUT", "choose at least one domain, or let the login collect all of the customer's domains", { field: "allDomains" });
    }
    await restrictLogin(actor, id, all ? null : names);
    const login = await getLogin(actor, id);
    revalidatePath(`/staff/logins/${id}`);
    return { message: all ? `${login.login} may collect every domain of ${login.customer.name}.` : `${login.login} may collect: ${names.join(", ")}.` };
  });
}
