import { apiRoute } from "../../_server/api-route.ts";
import { operations } from "../../_server/operations.ts";
import { loginView } from "../../_server/resources.ts";
import { getLogin } from "@/lib/logins/logins.ts";

export const GET = apiRoute(operations.getLogin, async ({ actor, id }) => loginView(await getLogin(actor, id)));
