import { apiRoute } from "../_server/api-route.ts";
import { operations } from "../_server/operations.ts";
import { createCustomer, listCustomers } from "@/lib/customers/customers.ts";

export const GET = apiRoute(operations.listCustomers, async ({ actor, query }) => {
  const { total, items } = await listCustomers(actor, { search: query.search, take: query.limit, skip: query.offset });
  return { total, items: items.map((c) => ({ ...c, domainCount: c._count.domains, loginCount: c._count.logins })) };
});

export const POST = apiRoute(operations.createCustomer, ({ actor, body }) => createCustomer(actor, body));
