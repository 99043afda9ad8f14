// PLACEHOLDER until the ODMR listener lands.
import net from "node:net";
import { listenOn, type MailerContext, type Service } from "../service.ts";
export async function startOdmr(ctx: MailerContext): Promise<Service[]> {
  const server = net.createServer((s) => s.end(`421 4.3.2 ${ctx.config.MAIL_HOSTNAME} not ready\r\n`));
  await listenOn(server, ctx.config.ODMR_PORT, ctx.config.BIND_ADDRESS, "ODMR_PORT");
  return [{ name: "odmr", close: async () => void server.close() }];
}
