// The bulk queue form's two steps, for staff (/staff/queue) and customers (/my/mail) alike: count
// what the action would change (the confirmation states it), then do it up to the newest message
// counted. The core checks the tenant; the role here only picks which filter fields count.
import { revalidatePath } from "next/cache";
import { runAction, type ActionResult } from "./action-result.ts";
import { bulkQueueInputFromForm, type QueueRole } from "./queue-filter.ts";
import { formatNumber } from "@/app/_ui/format.ts";
import type { Actor } from "@/lib/actor.ts";
import { countBulkQueueAction, runBulkQueueAction, type BulkQueueAction } from "@/lib/queue/queue-actions.ts";

const DONE: Record<BulkQueueAction, string> = { delete: "Deleted", bounce: "Bounced", release: "Released" };

function messages(n: number): string {
  return `${formatNumber(n)} message${n === 1 ? "" : "s"}`;
}

export function countBulk(role: QueueRole, form: FormData): Promise<ActionResult> {
  return runAction<Actor>(role, async (actor) => ({ bulk: await countBulkQueueAction(actor, bulkQueueInputFromForm(form, role)) }));
}

export function runBulk(role: QueueRole, form: FormData, path: string): Promise<ActionResult> {
  return runAction<Actor>(role, async (actor) => {
    const input = bulkQueueInputFromForm(form, role);
    const outcome = await runBulkQueueAction(actor, input);
    revalidatePath(path);
    return {
      message: `${DONE[input.action]} ${messages(outcome.messages)} (${formatNumber(outcome.deliveries)} recipient${outcome.deliveries === 1 ? "" : "s"}).`,
    };
  });
}
