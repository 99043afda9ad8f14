// The ETRN service: the runner that ETRN on the MX hands its requests to, and a loop that takes
// "deliver now" requests from the portal and the CLI every ETRN_REQUEST_POLL_SECONDS.
import { EtrnRunner } from "./etrn-runner.ts";
import { errorCode } from "../../lib/errors.ts";
import { takeEtrnReleaseRequests } from "../../lib/etrn/release-requests.ts";
import { decideEtrnRelease } from "../../lib/release/decide-etrn.ts";
import type { MailerContext, Service } from "../service.ts";

export interface EtrnService extends Service {
  runner: EtrnRunner;
}

export function startEtrn(ctx: MailerContext): EtrnService {
  const runner = new EtrnRunner(ctx);
  const log = runner.log;

  const takeRequests = async () => {
    for (const request of await takeEtrnReleaseRequests()) {
      const requestLog = log.child({ requestedBy: request.requestedBy, domain: request.domain });
      const reply = await runner.answer(request.domain, () => decideEtrnRelease(request.domainId), {
        remoteAddress: request.requestedBy,
        login: null,
        customerId: request.customerId,
        recordRefusal: true,
        rateKey: null,
        log: requestLog,
      });
      requestLog.info({ reply: `${reply.code} ${reply.text}` }, "deliver-now request taken");
    }
  };

  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const schedule = () => {
    timer = setTimeout(() => {
      running = takeRequests()
        .catch((error) => log.warn({ code: errorCode(error), err: error }, "could not take deliver-now requests"))
        .finally(() => {
          running = null;
          if (!stopped) schedule();
        });
    }, ctx.config.ETRN_REQUEST_POLL_SECONDS * 1000);
  };
  schedule();

  return {
    name: "etrn",
    runner,
    async close(graceMs) {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await runner.close(graceMs);
    },
  };
}
