import { withRoute } from "@/app/_server/auth.ts";
import { emlResponse } from "@/app/_server/eml-response.ts";

export const GET = withRoute("staff", async (actor, _request, { params }: { params: Promise<{ id: string }> }) => emlResponse(actor, (await params).id));
