import { apiRoute } from "../../_server/api-route.ts";
import { operations } from "../../_server/operations.ts";
import { getCustomer } from "@/lib/customers/customers.ts";

export const GET = apiRoute(operations.getCustomer, ({ actor, id }) => getCustomer(actor, id));
