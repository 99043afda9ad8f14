"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import type { StaffActor } from "@/app/_server/auth.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import { API_SCOPES, createApiToken, revokeApiToken } from "@/lib/api-tokens/api-tokens.ts";
import { uuidSchema } from "@/lib/validation/schemas.ts";

/** Creates an API token; the token is shown once, in the form's answer. */
export async function createApiTokenAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { name, customerId } = parseForm(z.object({ name: z.string(), customerId: uuidSchema.optional() }), form);
    const scopes = API_SCOPES.filter((scope) => form.get(`scope-${scope}`) !== null);
    const { token, secret } = await createApiToken(actor, { name, scopes, customer: customerId });
    revalidatePath("/staff/api-tokens");
    return {
      message: `API token ${token.name} created.`,
      secret: { label: `API token ${token.name}`, value: secret, note: "Send it as Authorization: Bearer <token>. Only a hash of it is kept." },
    };
  });
}

export async function revokeApiTokenAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(z.object({ id: uuidSchema }), form);
    const token = await revokeApiToken(actor, id);
    revalidatePath("/staff/api-tokens");
    return { message: `API token ${token.name} revoked.` };
  });
}
