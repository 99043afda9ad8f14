// Starts the MX listener on MX_PORT (design: the MX intake of held mail, and ETRN).
import { trackConnections } from "../../lib/metrics/metrics.ts";
import type { EtrnRunner } from "../etrn/etrn-runner.ts";
import { listenOn, type MailerContext, type Service } from "../service.ts";
import { MxServer, readMxFacts } from "./mx-server.ts";

export async function startMx(ctx: MailerContext, etrnRunner: EtrnRunner): Promise<Service> {
  const server = new MxServer(ctx, await readMxFacts(), etrnRunner);
  // connection-level failures (a client resetting mid-transaction, a failed TLS handshake) end
  // that one session; they are logged, never allowed to stop the listener
  server.on("error", (err: Error & { code?: string; remoteAddress?: string }) => {
    server.log.info({ code: "MX_CONNECTION_ERROR", cause: err.code, client: err.remoteAddress, err: err.message }, "mx connection error");
  });
  await listenOn(server.server, ctx.config.MX_PORT, ctx.config.BIND_ADDRESS, "MX_PORT");
  server.log.info({ port: ctx.config.MX_PORT, size: server.options.size }, "mx listening");
  trackConnections("mx", () => server.connectionCount);
  return { name: "mx", close: (graceMs) => server.shutdown(graceMs) };
}
