import { apiRoute } from "../../_server/api-route.ts";
import { operations } from "../../_server/operations.ts";
import { getDomain, updateDomain } from "@/lib/domains/domains.ts";

export const GET = apiRoute(operations.getDomain, ({ actor, id }) => getDomain(actor, id));

export const PATCH = apiRoute(operations.updateDomain, ({ actor, id, body }) => updateDomain(actor, id, body));
