// The queue filter as the portal spells it (query parameters of the list, its CSV export, and the
// hidden fields of the bulk form), turned into the core's QueueFilter: one mapping for all three,
// so the export and "all matching" take exactly the list's filter. A customer's filter is always
// its own held mail; the core adds the tenant itself.
import { formFields } from "./form-data.ts";
import type { BulkQueueInput } from "@/lib/queue/queue-actions.ts";
import type { QueueFilter } from "@/lib/queue/search-queue.ts";

export const AGE_FILTERS: Record<string, { label: string; olderThanHours?: number; newerThanHours?: number }> = {
  n1h: { label: "Newer than 1 hour", newerThanHours: 1 },
  n24h: { label: "Newer than 1 day", newerThanHours: 24 },
  o1h: { label: "Older than 1 hour", olderThanHours: 1 },
  o24h: { label: "Older than 1 day", olderThanHours: 24 },
  o7d: { label: "Older than 7 days", olderThanHours: 24 * 7 },
  o30d: { label: "Older than 30 days", olderThanHours: 24 * 30 },
};

export type QueueRole = "staff" | "customer";

/** The parameters that make up the filter, per role (kept in paging links, the export link and the bulk form). */
export const QUEUE_FILTER_PARAMS: Record<QueueRole, readonly string[]> = {
  staff: ["customerId", "domain", "state", "recipient", "sender", "q", "age"],
  customer: ["domain", "recipient", "q"],
};

export function queueFilterFromParams(params: Record<string, string>, role: QueueRole): QueueFilter {
  if (role === "customer") return { state: "held", domain: params.domain, recipient: params.recipient, q: params.q };
  const age = params.age ? AGE_FILTERS[params.age] : undefined;
  return {
    customerId: params.customerId,
    domain: params.domain,
    state: params.state as QueueFilter["state"],
    recipient: params.recipient,
    sender: params.sender,
    q: params.q,
    olderThanHours: age?.olderThanHours,
    newerThanHours: age?.newerThanHours,
  };
}

/** The bulk form: the action, the filter, and either the ticked rows or "all matching" (scope=all) up to the count's newest id. */
export function bulkQueueInputFromForm(form: FormData, role: QueueRole): BulkQueueInput {
  const fields = formFields(form);
  const all = fields.scope === "all";
  return {
    action: fields.action as BulkQueueInput["action"],
    filter: queueFilterFromParams(fields, role),
    ids: all ? undefined : form.getAll("ids").filter((v): v is string => typeof v === "string"),
    upTo: fields.upTo,
  };
}
