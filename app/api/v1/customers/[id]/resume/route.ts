import { apiRoute } from "../../../_server/api-route.ts";
import { operations } from "../../../_server/operations.ts";
import { setCustomerStatus } from "@/lib/customers/customers.ts";

export const POST = apiRoute(operations.resumeCustomer, ({ actor, id }) => setCustomerStatus(actor, id, "active"));
