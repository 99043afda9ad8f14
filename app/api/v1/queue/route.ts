import { apiRoute } from "../_server/api-route.ts";
import { operations } from "../_server/operations.ts";
import { deliveryView, searchQueue } from "@/lib/queue/search-queue.ts";

// the same projection as `mailharbor queue list --json`, with the page cursors added
export const GET = apiRoute(operations.listQueue, async ({ actor, query }) => {
  const page = await searchQueue(actor, { ...query, exactCount: true });
  return {
    total: page.count,
    olderCursor: page.olderCursor,
    newerCursor: page.newerCursor,
    items: page.items.map((m) => ({
      ...m,
      deliveries: m.deliveries.map(deliveryView),
    })),
  };
});
