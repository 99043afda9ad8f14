"use server";
// Bulk actions on the customer's own held mail; lib/queue/queue-actions.ts keeps them to it.
import type { ActionResult } from "@/app/_server/action-result.ts";
import { countBulk, runBulk } from "@/app/_server/bulk-queue-actions.ts";

export async function countBulkMailFormAction(form: FormData): Promise<ActionResult> {
  return countBulk("customer", form);
}

export async function runBulkMailFormAction(form: FormData): Promise<ActionResult> {
  return runBulk("customer", form, "/my/mail");
}
