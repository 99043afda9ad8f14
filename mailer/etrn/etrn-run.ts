// One ETRN run for one domain: read the domain's target now (so a changed target takes the held
// mail with it), connect (connect-to-target.ts), and deliver the held mail with the same loop as
// a turned-around ATRN session (ReverseSession): each recipient once under a lease, 2yz
// delivered, 4yz held with the reply, 5yz bounced with a DSN. If the target cannot take mail,
// everything stays held and each held delivery shows why.
import { connectToTarget, TargetError } from "./connect-to-target.ts";
import { errorCode } from "../../lib/errors.ts";
import { loadEtrnTarget, recordEtrnTargetFailure } from "../../lib/etrn/etrn-target.ts";
import type { Logger } from "../../lib/log/logger.ts";
import type { EtrnDomain } from "../../lib/release/decide-etrn.ts";
import type { SessionEnd } from "../../lib/sessions/record-session.ts";
import { ReverseSession } from "../delivery/reverse-session.ts";
import type { MailerContext } from "../service.ts";

export interface RunEnd extends SessionEnd {
  /** the delivery went over TLS */
  tls: boolean;
  /** the target could not be reached or refused to take mail */
  targetFailed?: boolean;
  /** nothing was delivered because the run could not take place: the target failed, or the run did not start or broke off */
  releaseFailed?: boolean;
}

export class EtrnRun {
  private session: ReverseSession | null = null;
  private stopReason: string | null = null;
  readonly done: Promise<RunEnd>;

  /** `ctx` carries the lease owner of ETRN runs (see etrn-runner.ts). */
  constructor(
    private readonly ctx: MailerContext,
    readonly domain: EtrnDomain,
    readonly log: Logger,
  ) {
    // a run is capped like an ODMR session: it stops after the message in flight, the next run goes on
    const deadline = setTimeout(() => this.stop("session time limit reached"), ctx.config.ODMR_SESSION_MAX_SECONDS * 1000);
    deadline.unref();
    this.done = this.execute()
      .catch((error: unknown) => {
        log.error({ code: errorCode(error), err: error }, "ETRN run failed");
        return {
          messagesDelivered: 0,
          recipientsDelivered: 0,
          bytesDelivered: 0,
          outcome: `failed: ${(error as Error)?.message ?? error}`,
          tls: false,
          releaseFailed: true,
        };
      })
      .finally(() => clearTimeout(deadline));
  }

  /** Finish the message in flight, then QUIT. */
  stop(reason: string): void {
    this.stopReason ??= reason;
    this.session?.stop(reason);
  }

  /** Drop the connection now; the message in flight stays held. */
  abort(reason: string): void {
    this.stop(reason);
    this.session?.abort(reason);
  }

  /** A run that delivered nothing because it could not take place. */
  private nothing(outcome: string): RunEnd {
    return { messagesDelivered: 0, recipientsDelivered: 0, bytesDelivered: 0, outcome, tls: false, releaseFailed: true };
  }

  private async execute(): Promise<RunEnd> {
    const { config } = this.ctx;
    const target = await loadEtrnTarget(this.domain.id);
    if (!target) return this.nothing("not run: ETRN is no longer enabled for the domain");
    const where = `${target.host}:${target.port}`;
    this.log.info({ target: where, tls: target.tls }, "ETRN run starting");
    const timeouts = {
      greetingMs: config.REVERSE_GREETING_TIMEOUT * 1000,
      commandMs: config.REVERSE_COMMAND_TIMEOUT * 1000,
      dataInitMs: config.REVERSE_DATA_INIT_TIMEOUT * 1000,
      dataBlockMs: config.REVERSE_DATA_BLOCK_TIMEOUT * 1000,
      finalDotMs: config.REVERSE_FINAL_DOT_TIMEOUT * 1000,
    };
    let connection;
    try {
      connection = await connectToTarget(target, {
        hostname: config.MAIL_HOSTNAME,
        connectTimeoutMs: config.ETRN_CONNECT_TIMEOUT * 1000,
        timeouts,
        log: this.log,
      });
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      this.log.warn({ code: "ETRN_TARGET_FAILED", target: where, err: error.message }, "ETRN target cannot take mail; it stays held");
      await recordEtrnTargetFailure(this.domain.id, error.message).catch((e) =>
        this.log.warn({ code: errorCode(e), err: e }, "could not note the failure on the held mail"),
      );
      return { ...this.nothing(`not delivered: ${error.message}`), targetFailed: true };
    }
    if (this.stopReason) {
      connection.socket.destroy();
      return this.nothing(`not run: ${this.stopReason}`);
    }
    this.session = new ReverseSession({
      ctx: this.ctx,
      log: this.log,
      socket: connection.socket,
      login: { customerId: target.customerId },
      domainIds: [target.domainId],
      sessionStart: new Date(),
      tls: connection.tls,
      greeted: true,
      directPeer: true,
    });
    const end = await this.session.run();
    return { ...end, outcome: `${end.outcome} to ${where}${connection.tls ? " over TLS" : ""}`, tls: connection.tls };
  }
}
