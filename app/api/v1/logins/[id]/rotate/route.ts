import { apiRoute } from "../../../_server/api-route.ts";
import { operations } from "../../../_server/operations.ts";
import { loginView } from "../../../_server/resources.ts";
import { getLogin, rotateLogin } from "@/lib/logins/logins.ts";

export const POST = apiRoute(operations.rotateLogin, async ({ actor, id, body }) => {
  const { login, secret, oldSecretsExpireAt } = await rotateLogin(actor, id, body);
  return { login: loginView(await getLogin(actor, login)), secret, oldSecretsExpireAt };
});
