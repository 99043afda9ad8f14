import { apiRoute } from "../../../_server/api-route.ts";
import { operations } from "../../../_server/operations.ts";
import { setCustomerStatus } from "@/lib/customers/customers.ts";

export const POST = apiRoute(operations.suspendCustomer, ({ actor, id }) => setCustomerStatus(actor, id, "suspended"));
