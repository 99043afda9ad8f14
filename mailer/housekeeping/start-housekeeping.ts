// The housekeeping loop, every HOUSEKEEPING_INTERVAL_SECONDS: claims whose lease ran out go back
// to the queue; held mail past its domain's retention is expired with a DSN; optional delay
// warnings are stored; stored DSNs leave through the smarthost; session records a dead mailer
// left open are closed; finished history older than HISTORY_DAYS is removed; notifications are
// opened, closed and sent (lib/notifications/run-notifications.ts). With several mailers
// on one database only one does a run at a time.
import { withAdvisoryLock } from "../../lib/db/pg-pool.ts";
import { sendStoredDsns, initialDsnState } from "../../lib/dsn/send-dsns.ts";
import { errorCode } from "../../lib/errors.ts";
import { runNotifications } from "../../lib/notifications/run-notifications.ts";
import { expireHeldMail } from "../../lib/queue/expire-held-mail.ts";
import { purgeHistory } from "../../lib/queue/purge-history.ts";
import { requeueExpiredLeases } from "../../lib/queue/release-leases.ts";
import { warnDelayedMail } from "../../lib/queue/warn-delayed-mail.ts";
import { closeAbandonedSessions } from "../../lib/sessions/record-session.ts";
import { parseHostPort } from "../../lib/validation/host-port.ts";
import type { MailerContext, Service } from "../service.ts";

/** pg advisory lock key for "one housekeeping run at a time" ("mhhk") */
const HOUSEKEEPING_LOCK = 0x6d68686b;

export function startHousekeeping(ctx: MailerContext): Service {
  const { config } = ctx;
  const log = ctx.log.child({ component: "housekeeping" });
  const dsnState = initialDsnState(config.SMARTHOST);
  const smarthost = config.SMARTHOST ? parseHostPort(config.SMARTHOST) : null;
  if (!smarthost) log.info("no SMARTHOST: DSNs are kept in the queue (held) for staff");

  /** Runs one step; what it did is logged when it did anything, a failure never stops the others. */
  const step = async (name: string, work: () => Promise<number | object>) => {
    try {
      const result = await work();
      if (typeof result === "number" ? result > 0 : Object.values(result).some(Boolean)) log.info({ step: name, result }, "housekeeping");
    } catch (error) {
      log.error({ step: name, code: errorCode(error), err: error }, "housekeeping step failed");
    }
  };

  const run = () =>
    withAdvisoryLock(HOUSEKEEPING_LOCK, async () => {
      await step("leases", () => requeueExpiredLeases());
      await step("expiry", () => expireHeldMail({ reportingMta: config.MAIL_HOSTNAME, dsnState }));
      if (config.DELAY_WARNING_HOURS > 0) {
        await step("delay-warnings", () => warnDelayedMail({ hours: config.DELAY_WARNING_HOURS, reportingMta: config.MAIL_HOSTNAME, dsnState }));
      }
      if (smarthost) {
        await step("dsn", async () => {
          const report = await sendStoredDsns(smarthost, config.MAIL_HOSTNAME);
          if (report.connectError)
            log.warn(
              { code: "DSN_SMARTHOST_UNREACHABLE", smarthost: config.SMARTHOST, error: report.connectError },
              "smarthost unreachable; DSNs wait for the next run",
            );
          return report;
        });
      }
      // a session left open longer than any session may last belongs to a mailer that died
      const cap = config.ODMR_SESSION_MAX_SECONDS * 1000 + 3600_000;
      await step("sessions", () => closeAbandonedSessions(new Date(Date.now() - cap - 86_400_000), new Date(Date.now() - cap)));
      await step("history", () => purgeHistory(config.HISTORY_DAYS));
      await step("notifications", () =>
        runNotifications({
          smarthost,
          hostname: config.MAIL_HOSTNAME,
          staffEmail: config.STAFF_NOTIFY_EMAIL,
          retryBaseSeconds: config.NOTIFY_RETRY_BASE_SECONDS,
        }),
      );
    });

  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      running = run()
        .catch((error) => log.error({ code: errorCode(error), err: error }, "housekeeping run failed"))
        .finally(() => {
          running = null;
          if (!stopped) schedule(config.HOUSEKEEPING_INTERVAL_SECONDS * 1000);
        });
    }, delayMs);
  };
  // the first run soon after start: leases of a mailer that died come back without waiting a full interval
  schedule(1000);

  return {
    name: "housekeeping",
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
