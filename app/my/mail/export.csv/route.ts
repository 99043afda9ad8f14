// The customer's own held mail, filtered like the list (same query parameters), as CSV.
import { withRoute } from "@/app/_server/auth.ts";
import { queueCsvResponse } from "@/app/_server/queue-csv-response.ts";

export const GET = withRoute("customer", (actor, request) => queueCsvResponse(actor, "customer", request));
