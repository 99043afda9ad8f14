"use server";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import type { StaffActor } from "@/app/_server/auth.ts";
import { countBulk, runBulk } from "@/app/_server/bulk-queue-actions.ts";
import { flash } from "@/app/_server/flash.ts";
import { parseForm } from "@/app/_server/form-data.ts";
import { bounceQueuedMessage, deleteQueuedMessage, releaseMessageLease } from "@/lib/queue/queue-actions.ts";
import { queueIdSchema } from "@/lib/queue/queue-id.ts";

const schema = z.object({ id: queueIdSchema });

export async function deleteMessageAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  const result = await runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(schema, form);
    await deleteQueuedMessage(actor, id);
    await flash(`Message ${id} deleted.`);
  });
  if (result.ok) redirect("/staff/queue");
  return result;
}

export async function bounceMessageAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(schema, form);
    const count = await bounceQueuedMessage(actor, id);
    revalidatePath(`/staff/queue/${id}`);
    return { message: `${count} held recipient${count === 1 ? "" : "s"} bounced.` };
  });
}

export async function releaseLeaseAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(schema, form);
    const count = await releaseMessageLease(actor, id);
    revalidatePath(`/staff/queue/${id}`);
    return { message: `${count} recipient${count === 1 ? "" : "s"} back in the queue.` };
  });
}

export async function countBulkQueueFormAction(form: FormData): Promise<ActionResult> {
  return countBulk("staff", form);
}

export async function runBulkQueueFormAction(form: FormData): Promise<ActionResult> {
  return runBulk("staff", form, "/staff/queue");
}
