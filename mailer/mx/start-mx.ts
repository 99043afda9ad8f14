// PLACEHOLDER until the MX listener lands: listens and greets with 421.
import net from "node:net";
import { listenOn, type MailerContext, type Service } from "../service.ts";
export async function startMx(ctx: MailerContext): Promise<Service> {
  const server = net.createServer((s) => s.end(`421 4.3.2 ${ctx.config.MAIL_HOSTNAME} not ready\r\n`));
  await listenOn(server, ctx.config.MX_PORT, ctx.config.BIND_ADDRESS, "MX_PORT");
  return { name: "mx", close: async () => void server.close() };
}
