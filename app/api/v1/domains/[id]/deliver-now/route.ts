import { apiRoute } from "../../../_server/api-route.ts";
import { operations } from "../../../_server/operations.ts";
import { requestEtrnRelease } from "@/lib/etrn/release-requests.ts";

export const POST = apiRoute(operations.deliverNow, ({ actor, id }) => requestEtrnRelease(actor, id));
