// PLACEHOLDER until housekeeping lands.
import type { MailerContext, Service } from "../service.ts";
export function startHousekeeping(_ctx: MailerContext): Service {
  return { name: "housekeeping", close: async () => undefined };
}
