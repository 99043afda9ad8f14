import { apiRoute } from "../_server/api-route.ts";
import { operations } from "../_server/operations.ts";
import { listSessions } from "@/lib/sessions/list-sessions.ts";

export const GET = apiRoute(operations.listSessions, ({ actor, query }) => listSessions(actor, query));
