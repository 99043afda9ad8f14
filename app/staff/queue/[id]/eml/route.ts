import { emlResponse } from "@/app/_server/eml-response.ts";
import { getPortalActor } from "@/app/_server/portal-session.ts";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  return emlResponse(await getPortalActor(), "staff", (await params).id);
}
