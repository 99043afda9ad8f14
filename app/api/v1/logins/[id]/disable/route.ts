import { apiRoute } from "../../../_server/api-route.ts";
import { operations } from "../../../_server/operations.ts";
import { loginView } from "../../../_server/resources.ts";
import { getLogin, setLoginStatus } from "@/lib/logins/logins.ts";

export const POST = apiRoute(operations.disableLogin, async ({ actor, id }) => {
  const login = await setLoginStatus(actor, id, "disabled");
  return loginView(await getLogin(actor, login.id));
});
