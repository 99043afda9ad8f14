import { apiRoute } from "../../../_server/api-route.ts";
import { operations } from "../../../_server/operations.ts";
import { loginView } from "../../../_server/resources.ts";
import { getLogin, setLoginStatus } from "@/lib/logins/logins.ts";

export const POST = apiRoute(operations.enableLogin, async ({ actor, id }) => {
  const login = await setLoginStatus(actor, id, "active");
  return loginView(await getLogin(actor, login.id));
});
