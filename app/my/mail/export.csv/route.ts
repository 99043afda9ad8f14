// The customer's own held mail, filtered like the list (same query parameters), as CSV.
import { queueCsvResponse } from "@/app/_server/queue-csv-response.ts";
import { getPortalActor } from "@/lib/auth/portal-session.ts";

export async function GET(request: Request) {
  return queueCsvResponse(await getPortalActor(), "customer", request);
}
