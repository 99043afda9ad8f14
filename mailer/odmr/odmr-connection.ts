// One ODMR connection (RFC 2645): smtp-server's connection with the ODMR profile. Before the
// turn-around it answers EHLO (listing AUTH and ATRN), STARTTLS, AUTH, ATRN, NOOP, RSET, HELO and
// QUIT; MAIL, RCPT, DATA and the other transaction commands get 502 (§4.2), unknown verbs 500.
// After a 250 to ATRN the socket is taken from smtp-server and handed to the reversed session.
//
// Bounds of a connection: ODMR_PREAUTH_SECONDS from connect to a successful AUTH (however slowly
// the client sends: the idle timeout alone restarts with every byte), ODMR_SESSION_MAX_SECONDS in
// all; the connection slot it was admitted with (connection-slots.ts) is held until its socket is
// gone, turned around or not. After the turn-around the login's authority is re-checked before
// every claim batch and every ODMR_AUTH_RECHECK_SECONDS; when it is lost the session ends after
// the message in flight.
//
// smtp-server's internals (the command interception, the socket hand-over) are reached only
// through AdaptedConnection (mailer/smtp-server-adapter/), with a contract test per member.
import crypto from "node:crypto";
import type net from "node:net";
import { parseAtrnArgument } from "./atrn-argument.ts";
import type { OdmrServer } from "./odmr-listener.ts";
import { REPLIES, type OdmrReply } from "./replies.ts";
import { SessionRecorder } from "./session-recorder.ts";
import { errorCode } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log/logger.ts";
import type { AuthenticatedLogin } from "../../lib/logins/verify-odmr-login.ts";
import { atrnDecisionSeconds, doorRefusals } from "../../lib/metrics/metrics.ts";
import { decideAtrn, recheckAtrn } from "../../lib/release/decide-atrn.ts";
import { authKeyword, needsEncryption, type AuthOutcome } from "../auth/smtp-auth.ts";
import { ReverseSession } from "../delivery/reverse-session.ts";
import { AdaptedConnection, type SMTPConnectionOptions } from "../smtp-server-adapter/adapted-connection.ts";

/** Transaction and other commands outside the ODMR profile (RFC 2645 §4.2: 502). */
const NOT_IN_PROFILE = new Set(["MAIL", "RCPT", "DATA", "BDAT", "TURN", "ETRN", "VRFY", "EXPN", "HELP", "SEND", "SOML", "SAML"]);
const MAX_OUT_OF_PROFILE = 10;

const CONTROL = /[\x00-\x1f\x7f]/;

/** How an ATRN reads in the transcript: the domains it asked for (or, for a bare ATRN, was given). */
function atrnAsked(domains: string[] | null): string {
  return domains && domains.length ? `ATRN for ${domains.join(", ")}` : "ATRN";
}

export class OdmrConnection extends AdaptedConnection<OdmrServer> {
  private readonly log: Logger;
  private readonly recorder: SessionRecorder;
  private login: AuthenticatedLogin | null = null;
  /** ATRN was received and its reply is not sent yet */
  private atrnPending = false;
  /** bytes arrived while ATRN was pending */
  private earlyInput = false;
  private reverse: ReverseSession | null = null;
  private outOfProfile = 0;
  /** what to record as the outcome if the connection ends before the turn-around */
  private lastEvent = "closed before authenticating";
  private readonly deadline: NodeJS.Timeout;
  private preauthTimer: NodeJS.Timeout | null = null;
  /** the login's authority was found gone during the reversed session (stopped once, logged once) */
  private authorityLost = false;

  /** `connectedAt`: when the listener accepted the TCP connection (before any implicit TLS handshake) */
  constructor(
    server: OdmrServer,
    socket: net.Socket,
    options: SMTPConnectionOptions | null | undefined,
    private readonly releaseSlot: () => void,
    private readonly connectedAt: number,
  ) {
    super(server, socket, options);
    const sessionId = crypto.randomUUID();
    this.log = server.listener.ctx.log.child({ listener: server.label, session: sessionId, remote: this.remoteAddress });
    this.recorder = new SessionRecorder(sessionId, this.remoteAddress, this.secure, this.log, connectedAt);
    server.connectionsBySession.set(this.session, this);
    const { config } = server.listener.ctx;
    this.deadline = setTimeout(() => this.onSessionLimit(), config.ODMR_SESSION_MAX_SECONDS * 1000);
    this.deadline.unref();
    this.armPreauthDeadline();
    this.log.info("ODMR connection");
  }

  /** The pre-AUTH deadline counts from connect; a STARTTLS that drops the login does not restart it. */
  private armPreauthDeadline(): void {
    if (this.preauthTimer) return;
    const left = this.connectedAt + this.server.listener.ctx.config.ODMR_PREAUTH_SECONDS * 1000 - Date.now();
    this.preauthTimer = setTimeout(() => this.onPreauthLimit(), Math.max(0, left));
    this.preauthTimer.unref();
  }

  private onPreauthLimit(): void {
    this.preauthTimer = null;
    if (this.login || this.ending) return;
    doorRefusals.inc({ listener: this.server.label, reason: "preauth-timeout" });
    this.lastEvent = "no successful AUTH within ODMR_PREAUTH_SECONDS";
    this.log.info({ code: "ODMR_PREAUTH_TIMEOUT", seconds: Math.round((Date.now() - this.connectedAt) / 1000) }, "closed: no successful AUTH in time");
    this.reply(REPLIES.preauthLimit);
  }

  /**
   * The TLS handshake after STARTTLS is done. RFC 3207 §4.2: the server must discard any
   * knowledge obtained from the client before it, so the login (and what counts toward the
   * out-of-profile limit) is forgotten; smtp-server has already cleared its session and EHLO.
   */
  tlsStarted(): void {
    if (this.login) this.log.info({ login: this.login.login }, "STARTTLS: authentication discarded");
    this.login = null;
    this.recorder.transcript.add("tls", "STARTTLS: TLS started (an earlier AUTH no longer counts)");
    this.outOfProfile = 0;
    this.lastEvent = "closed before authenticating";
    this.armPreauthDeadline();
  }

  // ---- the ODMR profile ------------------------------------------------------------------

  /*
   * The greeting goes out at once (AdaptedConnection's default): the connection caps were applied
   * when the socket was accepted (connection-slots.ts), and whatever a client sends before AUTH is
   * bounded by ODMR_PREAUTH_SECONDS. A customer on a mobile link should not pay 100 ms per dial-in.
   */

  protected override interceptCommand(command: Buffer, callback: () => void): boolean {
    if (this.atrnPending) {
      // RFC 2645 §4.3: after ATRN the customer waits for the reply (PIPELINING is not offered);
      // what it sends meanwhile is never run as a command
      this.earlyInput = true;
      callback();
      return true;
    }
    if (!this.atCommandPrompt) return false;
    const verb = command.toString("latin1").split(" ")[0].toUpperCase();
    if (!NOT_IN_PROFILE.has(verb)) return false;
    if (++this.outOfProfile > MAX_OUT_OF_PROFILE) {
      this.reply(REPLIES.tooManyOutOfProfile);
      return true;
    }
    this.reply(REPLIES.notInProfile);
    this.whenWritable(callback);
    return true;
  }

  /** RFC 2645 §4.2.1: the EHLO reply lists AUTH and ATRN; no PIPELINING (see _onCommand). */
  override handler_EHLO(command: Buffer, callback: () => void): void {
    const parts = command.toString("latin1").trim().split(/\s+/);
    if (parts.length !== 2 || parts[1].length > 255 || CONTROL.test(parts[1])) {
      this.reply(REPLIES.ehloSyntax);
      return callback();
    }
    this.hostNameAppearsAs = parts[1].toLowerCase();
    const features = [authKeyword(this.secure), "ATRN"];
    if (!this.secure) features.push("STARTTLS");
    this.resetSession();
    this.recorder.transcript.add("ehlo", `EHLO ${parts[1]}: 250 (${features.join(", ")})`);
    this.send(250, [`${this.name} at your service`, ...features], false);
    callback();
  }

  override handler_AUTH(command: Buffer, callback: () => void): void {
    if (needsEncryption(command, this.secure)) {
      this.reply(REPLIES.encryptionRequired);
      return callback();
    }
    super.handler_AUTH(command, callback);
  }

  /** Called by the server's onAuth with the result of checking the credentials. */
  authenticated(result: AuthOutcome, method: string, attemptedName: string): void {
    const tried = `AUTH ${method} as "${attemptedName.slice(0, 64)}"`;
    if (!result.ok) {
      this.lastEvent = "authentication failed";
      this.recorder.transcript.add("auth", `${tried}: ${result.code} ${result.message} (${result.reason})`);
      this.recorder.authFailed(attemptedName, this.secure);
      return;
    }
    const { login } = result;
    this.login = login;
    this.recorder.transcript.add("auth", `${tried}: 235 Authentication successful`);
    this.recorder.transcript.markAuthenticated();
    if (this.preauthTimer) clearTimeout(this.preauthTimer);
    this.preauthTimer = null;
    this.lastEvent = "authenticated, closed without ATRN";
    this.log.info({ login: login.login }, "authenticated");
    this.recorder.update({ loginId: login.loginId, customerId: login.customerId, loginName: login.login, authenticated: true, tls: this.secure });
  }

  handler_ATRN(command: Buffer, callback: () => void): void {
    const argument = command.toString("utf8").slice(4);
    if (!this.login) {
      this.answer(REPLIES.authRequired, null);
      return callback();
    }
    const parsed = parseAtrnArgument(argument);
    if (!parsed.ok) {
      this.answer(REPLIES.atrnSyntax, null);
      return callback();
    }
    if (!this.server.listener.atrnRate.allow(this.login.loginId)) {
      this.answer(REPLIES.atrnTooOften, parsed.domains);
      return callback();
    }
    this.atrnPending = true;
    // Let the parser go on: whatever was pipelined behind ATRN now reaches _onCommand and is
    // caught there as early input instead of waiting, unseen, inside the parser.
    callback();
    this.decide(this.login, parsed.domains).catch((error) => {
      this.log.error({ code: errorCode(error), err: error }, "ATRN failed");
      if (!this.ending) this.reply(REPLIES.atrnUnavailable);
    });
  }

  private async decide(login: AuthenticatedLogin, requested: string[] | null): Promise<void> {
    const started = Date.now();
    let decision;
    try {
      decision = await decideAtrn(login, requested);
    } catch (error) {
      atrnDecisionSeconds.observe({ decision: "error" }, (Date.now() - started) / 1000);
      this.log.error({ code: errorCode(error), err: error }, "ATRN could not be decided");
      return this.settleAtrn(REPLIES.atrnUnavailable, requested);
    }
    atrnDecisionSeconds.observe({ decision: decision.kind }, (Date.now() - started) / 1000);
    this.log.info({ requested, decision: decision.kind, ms: Date.now() - started }, "ATRN");
    if (decision.kind === "not-authorized") return this.settleAtrn(REPLIES.atrnNotAuthorized, requested);
    const names = decision.domains.map((d) => d.name);
    if (decision.kind === "no-mail") return this.settleAtrn(REPLIES.atrnNoMail, requested ?? names);
    await this.turnAround(
      login,
      decision.domains.map((d) => d.id),
      requested ?? names,
    );
  }

  private settleAtrn(reply: OdmrReply, requested: string[] | null): void {
    this.atrnPending = false;
    if (this.ending) return;
    if (this.earlyInput) return this.refuseEarlyInput();
    this.answer(reply, requested);
  }

  private refuseEarlyInput(): void {
    this.lastEvent = "protocol error: data sent after ATRN before its reply";
    this.reply(REPLIES.earlyInput);
  }

  /** Sends an ATRN reply and records it. */
  private answer(reply: OdmrReply, requested: string[] | null): void {
    const line = `${reply.code} ${reply.text}`;
    this.lastEvent = `ATRN answered ${line}`;
    this.recorder.transcript.add("atrn", `${atrnAsked(requested)}: ${line}`);
    this.recorder.update({ reply: line, tls: this.secure, ...(requested ? { domainsRequested: requested } : {}) });
    this.reply(reply);
  }

  private reply(reply: OdmrReply): void {
    this.send(reply.code, reply.text, false);
  }

  // ---- the turn-around -------------------------------------------------------------------

  private async turnAround(login: AuthenticatedLogin, domainIds: string[], requested: string[]): Promise<void> {
    if (this.ending) {
      this.atrnPending = false;
      return;
    }
    // Stop smtp-server reading: the socket pauses, so the customer's 220 waits in it for the client.
    const early = this.stopReading() || this.earlyInput;
    this.atrnPending = false;
    if (early) return this.refuseEarlyInput();
    // From here smtp-server has no part in this socket: not in its connection list (its close()
    // would write 421 into the reversed session), and its close/error/timeout hooks are inert.
    const socket = this.detachSocket();
    const line = `${REPLIES.atrnReleased.code} ${REPLIES.atrnReleased.text}`;
    this.recorder.transcript.add("atrn", `${atrnAsked(requested)}: ${line}`);
    this.recorder.update({ reply: line, domainsRequested: requested, tls: this.secure });
    socket.write(`${line}\r\n`);
    const reverse = new ReverseSession({
      ctx: this.server.listener.ctx,
      log: this.log,
      socket,
      login,
      domainIds,
      sessionStart: new Date(),
      tls: this.secure,
      authorize: () => this.stillAuthorized(login, domainIds),
      transcript: this.recorder.transcript,
    });
    this.reverse = reverse;
    // between claim batches too: a long batch to a slow customer must not outlive the login's authority
    const recheck = setInterval(() => {
      void this.stillAuthorized(login, domainIds);
    }, this.server.listener.ctx.config.ODMR_AUTH_RECHECK_SECONDS * 1000);
    recheck.unref();
    const done = reverse.run();
    this.server.listener.trackReversed(reverse, done);
    try {
      const end = await done;
      await this.recorder.finish({ ...end, tls: this.secure });
    } finally {
      clearInterval(recheck);
      clearTimeout(this.deadline);
      // the reversed session has closed the socket: its slot is free again
      this.releaseSlot();
    }
  }

  /**
   * Whether the session may go on collecting (decide-atrn.ts's rule, applied again); when not it
   * is stopped after the message in flight, with the reason as its outcome. A database failure
   * lets it go on: the claims themselves fail then.
   */
  private async stillAuthorized(login: AuthenticatedLogin, domainIds: string[]): Promise<boolean> {
    if (this.authorityLost) return false;
    let problem: string | null;
    try {
      problem = await recheckAtrn(login, domainIds);
    } catch (error) {
      this.log.warn({ code: errorCode(error), err: error }, "could not re-check the login's authority");
      return true;
    }
    if (!problem) return true;
    // two checks may overlap (the timer and a claim): the first to see it stops the session
    if (this.authorityLost) return false;
    this.authorityLost = true;
    this.log.info(
      { code: "ODMR_AUTHORITY_LOST", login: login.login, reason: problem },
      "login may no longer collect: ending the session after the message in flight",
    );
    // this.reverse is set: the first check (the prefetch in its constructor) resolves after it is
    this.reverse?.stop(`no longer authorized: ${problem}`);
    return false;
  }

  private onSessionLimit(): void {
    if (this.reverse) return this.reverse.stop("session time limit reached");
    if (this.ending) return;
    this.lastEvent = "session time limit reached";
    this.reply(REPLIES.sessionLimit);
  }

  // ---- smtp-server's socket hooks (AdaptedConnection makes them inert once the socket belongs to the reversed session) ----

  protected override onClosed(): void {
    clearTimeout(this.deadline);
    if (this.preauthTimer) clearTimeout(this.preauthTimer);
    this.releaseSlot();
    this.log.info({ outcome: this.lastEvent }, "ODMR connection closed");
    void this.recorder.finish({ messagesDelivered: 0, recipientsDelivered: 0, bytesDelivered: 0, outcome: this.lastEvent, tls: this.secure });
  }

  protected override onIdleTimeout(): void {
    if (!this.ending) this.lastEvent = "idle timeout";
  }
}
