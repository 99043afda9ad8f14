// Writes one connection's OdmrSession record in order (start, updates, finish) without ever
// holding up the protocol: a database hiccup costs a log line, not the customer's session.
import { isMailharborError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { odmrSessions } from "../../lib/metrics/metrics.ts";
import { sessionResult } from "../../lib/sessions/session-result.ts";
import { finishOdmrSession, startOdmrSession, updateOdmrSession, type SessionEnd, type SessionUpdate } from "../../lib/sessions/record-session.ts";

export class SessionRecorder {
  private chain: Promise<void>;
  private finished = false;
  /** the ATRN reply recorded so far, for the session's result */
  private reply: string | null = null;

  constructor(readonly id: string, remoteAddress: string, tls: boolean, private readonly log: Logger) {
    this.chain = this.guard(() => startOdmrSession({ id, remoteAddress, tls }));
  }

  private guard(write: () => Promise<void>): Promise<void> {
    return write().catch((error) => {
      this.log.warn({ code: isMailharborError(error) ? error.code : "INTERNAL", err: error }, "could not record the session");
    });
  }

  update(update: SessionUpdate): void {
    if (this.finished) return;
    if (update.reply) this.reply = update.reply;
    this.chain = this.chain.then(() => this.guard(() => updateOdmrSession(this.id, update)));
  }

  /** Records the end once; resolves when everything is written (or given up on). */
  finish(end: SessionEnd & SessionUpdate): Promise<void> {
    if (!this.finished) {
      this.finished = true;
      odmrSessions.inc({ result: sessionResult({ reply: end.reply ?? this.reply, releaseFailed: false }) });
      this.chain = this.chain.then(() => this.guard(() => finishOdmrSession(this.id, end)));
    }
    return this.chain;
  }
}
