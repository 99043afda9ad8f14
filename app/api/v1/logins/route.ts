import { apiRoute } from "../_server/api-route.ts";
import { operations } from "../_server/operations.ts";
import { loginView } from "../_server/resources.ts";
import { getCustomer } from "@/lib/customers/customers.ts";
import { createLogin, getLogin, listLogins } from "@/lib/logins/logins.ts";

export const GET = apiRoute(operations.listLogins, async ({ actor, query }) => {
  const customerId = query.customer ? (await getCustomer(actor, query.customer)).id : undefined;
  return { items: (await listLogins(actor, { customerId })).map(loginView) };
});

export const POST = apiRoute(operations.createLogin, async ({ actor, body }) => {
  const { login, secret } = await createLogin(actor, body);
  return { login: loginView(await getLogin(actor, login.id)), secret };
});
