// The customer's own held mail, filtered like the list (same query parameters), as CSV.
import { getPortalActor } from "@/app/_server/portal-session.ts";
import { queueCsvResponse } from "@/app/_server/queue-csv-response.ts";

export async function GET(request: Request) {
  return queueCsvResponse(await getPortalActor(), "customer", request);
}
