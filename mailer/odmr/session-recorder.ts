// Writes one connection's OdmrSession record in order (start, updates, finish) without ever
// holding up the protocol: a database hiccup costs a log line, not the customer's session.
// It also keeps the session's transcript (lib/sessions/session-transcript.ts), which is written
// with the record's updates and its end, and only once the session belongs to a login (a
// successful AUTH, or a failed one naming an existing login): the transcripts are for the
// login's owner, and a guesser trying unknown names stores none.
import { errorCode } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { odmrSessions } from "../../lib/metrics/metrics.ts";
import {
  finishOdmrSession,
  linkFailedAuth,
  startOdmrSession,
  updateOdmrSession,
  type SessionEnd,
  type SessionUpdate,
} from "../../lib/sessions/record-session.ts";
import { sessionResult } from "../../lib/sessions/session-result.ts";
import { Transcript } from "../../lib/sessions/session-transcript.ts";

export class SessionRecorder {
  private chain: Promise<void>;
  private finished = false;
  /** the ATRN reply recorded so far, for the session's result */
  private reply: string | null = null;
  /** the session belongs to a login: its transcript is written */
  private linked = false;
  /**
   * The update waiting behind a write in progress: later updates join it. So a client that
   * repeats a command as fast as it can (ATRN past its rate, each reply recorded with a
   * transcript of up to 64 KB) costs one write at a time, not one per command.
   */
  private waiting: SessionUpdate | null = null;
  /**
   * What the record holds already: an update writes only what differs, and nothing when nothing
   * does. So once the bounded transcript is full, a client repeating a command with the same reply
   * costs no writes at all.
   */
  private readonly written: SessionUpdate = {};
  private writtenEvents = 0;
  readonly transcript: Transcript;

  constructor(
    readonly id: string,
    remoteAddress: string,
    tls: boolean,
    private readonly log: Logger,
    connectedAt = Date.now(),
  ) {
    this.transcript = new Transcript(connectedAt);
    this.transcript.add("connect", `connected from ${remoteAddress}${tls ? " (TLS from the first byte)" : ""}`);
    this.chain = this.guard(() => startOdmrSession({ id, remoteAddress, tls }));
  }

  private guard(write: () => Promise<void>): Promise<void> {
    return write().catch((error) => {
      this.log.warn({ code: errorCode(error), err: error }, "could not record the session");
    });
  }

  private withTranscript<T extends SessionUpdate>(update: T): T {
    return this.linked ? { ...update, transcript: this.transcript.toJSON() } : update;
  }

  /** Writes the fields of `update` the record does not hold yet, and the transcript if it has grown. */
  private async write(update: SessionUpdate): Promise<void> {
    const changed: SessionUpdate = Object.fromEntries(
      Object.entries(update).filter(([key, value]) => JSON.stringify(this.written[key as keyof SessionUpdate]) !== JSON.stringify(value)),
    );
    const events = this.transcript.length;
    const toWrite = events === this.writtenEvents ? changed : this.withTranscript(changed);
    if (Object.keys(toWrite).length === 0) return;
    await updateOdmrSession(this.id, toWrite);
    Object.assign(this.written, changed);
    if (toWrite.transcript) this.writtenEvents = events;
  }

  update(update: SessionUpdate): void {
    if (this.finished) return;
    if (update.reply) this.reply = update.reply;
    if (update.loginId) this.linked = true;
    if (this.waiting) {
      Object.assign(this.waiting, update);
      return;
    }
    const waiting = { ...update };
    this.waiting = waiting;
    this.chain = this.chain.then(() => {
      if (this.waiting === waiting) this.waiting = null;
      return this.guard(() => this.write(waiting));
    });
  }

  /** An AUTH failed: the session becomes the named login's when there is one (record-session.ts). */
  authFailed(attemptedName: string, tls: boolean): void {
    if (this.finished) return;
    // an update after this one must not join one queued before it
    this.waiting = null;
    this.chain = this.chain.then(() =>
      this.guard(async () => {
        if (await linkFailedAuth(this.id, attemptedName)) this.linked = true;
        await this.write({ tls });
      }),
    );
  }

  /** Records the end once; resolves when everything is written (or given up on). */
  finish(end: SessionEnd & SessionUpdate): Promise<void> {
    if (!this.finished) {
      this.finished = true;
      odmrSessions.inc({ result: sessionResult({ reply: end.reply ?? this.reply, releaseFailed: false }) });
      this.transcript.add("end", end.outcome);
      this.chain = this.chain.then(() => this.guard(() => finishOdmrSession(this.id, this.withTranscript(end))));
    }
    return this.chain;
  }
}
