// The mailer process: the MX listener, the ODMR listeners, ETRN runs and the housekeeping loop.
// Run by `npm start` (beside the portal) or alone with `npm run mailer`.
import crypto from "node:crypto";
import os from "node:os";
import { closeDatabase } from "../lib/db/close-database.ts";
import { openDatabase } from "../lib/db/open-database.ts";
import { isMailharborError } from "../lib/errors.ts";
import { startEtrn } from "./etrn/start-etrn.ts";
import { startHousekeeping } from "./housekeeping/start-housekeeping.ts";
import { startMetrics } from "./metrics/start-metrics.ts";
import { startMx } from "./mx/start-mx.ts";
import { startOdmr } from "./odmr/start-odmr.ts";
import type { MailerContext, Service } from "./service.ts";
import { checkSmtpServerVersion } from "./smtp-server-adapter/smtp-server-version.ts";
import { loadConfig } from "../lib/config/config.ts";
import { logger } from "../lib/log/logger.ts";
import { loadTls } from "../lib/tls/load-tls.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const log = logger.child({ component: "mailer" });
  // before anything listens: the listeners rely on smtp-server internals of the tested versions
  checkSmtpServerVersion(log);
  const database = await openDatabase(config);
  const ctx: MailerContext = {
    config,
    log,
    tls: await loadTls(config),
    instanceId: `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString("hex")}`,
  };
  const services: Service[] = [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "mailer stopping");
    const grace = config.SHUTDOWN_GRACE_SECONDS * 1000;
    await Promise.allSettled(services.map((s) => s.close(grace)));
    await closeDatabase();
    await database.stop();
    log.info("mailer stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // under `npm start`: a supervisor that is gone can no longer restart anything, so stop cleanly
  // rather than hold the ports against the next start
  process.on("disconnect", () => void stop("supervisor gone"));

  try {
    const etrn = startEtrn(ctx);
    services.push(etrn);
    services.push(await startMx(ctx, etrn.runner));
    services.push(...(await startOdmr(ctx)));
    services.push(startHousekeeping(ctx));
    const metrics = await startMetrics(ctx);
    if (metrics) services.push(metrics);
  } catch (error) {
    await Promise.allSettled(services.map((s) => s.close(0)));
    throw error;
  }
  log.info({ mx: config.MX_PORT, odmr: config.ODMR_PORT, odmrs: config.ODMRS_PORT, hostname: config.MAIL_HOSTNAME }, "mailer ready");
  process.send?.("ready");
}

main().catch(async (error) => {
  const message = isMailharborError(error) ? error.message : ((error as Error)?.stack ?? String(error));
  process.stderr.write(`mailharbor mailer: ${message}\n`);
  await closeDatabase().catch(() => undefined);
  process.exit(1);
});
