import { apiRoute } from "../_server/api-route.ts";
import { operations } from "../_server/operations.ts";
import { getCustomer } from "@/lib/customers/customers.ts";
import { createDomain, listDomains } from "@/lib/domains/domains.ts";

export const GET = apiRoute(operations.listDomains, async ({ actor, query }) => {
  const customerId = query.customer ? (await getCustomer(actor, query.customer)).id : undefined;
  const domains = await listDomains(actor, { customerId });
  return { items: domains.map((d) => ({ ...d, customerName: d.customer.name, recipientCount: d._count.recipients })) };
});

export const POST = apiRoute(operations.createDomain, ({ actor, body }) => createDomain(actor, body));
