// What the mailer's parts share: configuration, a logger, the TLS material, and how each part stops.
import net from "node:net";
import type { Config } from "../lib/config/config.ts";
import { MailharborError } from "../lib/errors.ts";
import type { Logger } from "../lib/log/logger.ts";
import type { TlsMaterial } from "../lib/tls/load-tls.ts";

export interface MailerContext {
  config: Config;
  log: Logger;
  tls: TlsMaterial;
  /** identifies this mailer process in delivery leases */
  instanceId: string;
}

export interface Service {
  name: string;
  /** stop accepting, let work in progress finish within graceMs, then end it */
  close(graceMs: number): Promise<void>;
}

/** Listens on a port; privilege and address-in-use failures become one clear line naming the variable. */
export function listenOn(server: net.Server, port: number, host: string, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EACCES") {
        reject(
          new MailharborError(
            "CONFIG_INVALID",
            `${variable}: cannot listen on port ${port}: permission denied (ports below 1024 need root; try ${variable}=${port < 1024 ? port + 10000 : port})`,
          ),
        );
      } else if (error.code === "EADDRINUSE") {
        reject(new MailharborError("CONFIG_INVALID", `${variable}: port ${port} is already in use on ${host}`));
      } else {
        reject(new MailharborError("CONFIG_INVALID", `${variable}: cannot listen on ${host}:${port}: ${error.message}`));
      }
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}
