// The portal's HTTP server: Next.js's request handler behind a plain node:http server, so that the
// client address the portal sees is the socket's own. Next.js only fills X-Forwarded-For when a
// client sent none, so a client could name any address it liked and slip past the per-address
// login throttle; here the header is replaced by the peer's address, unless TRUST_PROXY says a
// reverse proxy in front of the portal sets it.
import next from "next";
import http from "node:http";
import { loadConfig } from "../lib/config/config.ts";
import { closeDatabase } from "../lib/db/close-database.ts";
import { PROJECT_ROOT } from "../lib/db/migrate.ts";
import { isMailharborError } from "../lib/errors.ts";
import { listenOn } from "../mailer/service.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const app = next({ dev: false, dir: PROJECT_ROOT });
  const handle = app.getRequestHandler();
  await app.prepare();
  const server = http.createServer((req, res) => {
    if (!config.TRUST_PROXY) req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
    void handle(req, res);
  });
  // the portal's database clients (created inside Next.js's bundle) live on globalThis, where closeDatabase finds them
  const stop = () =>
    server.close(
      () =>
        void closeDatabase()
          .catch(() => undefined)
          .finally(() => process.exit(0)),
    );
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("disconnect", stop); // the supervisor (`npm start`) is gone: see mailer/main.ts
  await listenOn(server, config.PORT, config.PORTAL_BIND_ADDRESS, "PORT");
  process.stdout.write(`mailharbor portal: listening on ${config.PORTAL_BIND_ADDRESS}:${config.PORT}\n`);
  process.send?.("ready");
}

main().catch((error) => {
  process.stderr.write(`mailharbor portal: ${isMailharborError(error) ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
