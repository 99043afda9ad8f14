// The MX listener: smtp-server with Mailharbor's hooks. It accepts mail only for hosted domains
// and holds it, and relays for nobody. AUTH with an ODMR login (mailer/auth/smtp-auth.ts, the
// authenticator the ODMR listeners use, with its throttling) grants ETRN (RFC 1985) and nothing else. Each hook is a
// thin adapter over a function in this folder or in lib/.
import type net from "node:net";
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { AUTH_METHODS, OdmrAuthenticator, type OnAuthCallback } from "../auth/smtp-auth.ts";
import type { MailerContext } from "../service.ts";
import { acceptMessage } from "./accept-message.ts";
import { checkRecipient, needsSmtpUtf8 } from "./check-recipient.ts";
import { MemoryBudget } from "./memory-budget.ts";
import { MxConnection } from "./mx-connection.ts";
import { DEFAULT_MESSAGE_SIZE, MAX_RECIPIENTS, MEMORY_BUDGET, MESSAGE_SIZE_CAP } from "./mx-limits.ts";
import { REPLIES, replyError, replyText, type Reply } from "./mx-replies.ts";
import { mxState, type MxRecipientAddress } from "./mx-session.ts";
import { ChangeListener } from "../../lib/db/change-listener.ts";
import { createRecipientResolver, largestMessageSize, RECIPIENT_LOOKUP_CHANNEL, type RecipientResolver } from "../../lib/domains/resolve-recipient.ts";
import { etrnInUse } from "../../lib/etrn/etrn-target.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { doorRefusals, intakeReplies, replyClass } from "../../lib/metrics/metrics.ts";
import type { EtrnRunner } from "../etrn/etrn-runner.ts";
import type { SMTPConnectionOptions } from "../smtp-server-adapter/adapted-connection.ts";
import { AdaptedServer } from "../smtp-server-adapter/adapted-server.ts";

/** Commands smtp-server knows that the MX does not offer: they get 500 like any unknown verb. */
const DISABLED_COMMANDS = ["XCLIENT", "XFORWARD", "WIZ", "SHELL", "KILL"];

/** How often at most the advertised SIZE and ETRN are recomputed from the domains. */
const SIZE_REFRESH_MS = 1000;

/** How long a refused connection may linger for its 421 to be read. */
const REFUSAL_LINGER_MS = 2000;

function clientAddress(socket: net.Socket): string {
  return (socket.remoteAddress ?? "").replace(/^::ffff:/i, "").toLowerCase();
}

export interface MxFacts {
  /** the largest message size of any domain (null: no domain yet) */
  largestDomainLimit: number | null;
  /** some domain has ETRN enabled */
  etrnInUse: boolean;
}

/** MAIL FROM parameters of the extensions the MX offers: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), AUTH (RFC 4954 §5, where AUTH is offered for ETRN). */
const MAIL_PARAMETERS = new Set(["SIZE", "BODY", "SMTPUTF8", "AUTH"]);

function unknownParameters(address: SMTPServerAddress, allowed: Set<string>): string[] {
  const args = (address as SMTPServerAddress & { args?: Record<string, unknown> | false }).args;
  return args ? Object.keys(args).filter((name) => !allowed.has(name.toUpperCase())) : [];
}

export class MxServer extends AdaptedServer {
  readonly log: Logger;
  /** EHLO lists ETRN (and AUTH, which is there for it) only while some domain can use it */
  etrnOffered: boolean;
  readonly ctx: MailerContext;
  private readonly authenticator: OdmrAuthenticator;
  private readonly resolver: RecipientResolver;
  /** what lets the resolver reuse its answers until they change (started only when reuse is allowed) */
  private readonly lookupChanges: ChangeListener;
  private readonly budget: MemoryBudget;
  private readonly perAddress = new Map<string, number>();
  private sizeCheckedAt = Date.now();
  private sizeRefresh: Promise<void> | null = null;

  constructor(
    ctx: MailerContext,
    facts: MxFacts,
    readonly etrnRunner: EtrnRunner,
  ) {
    super({
      name: ctx.config.MAIL_HOSTNAME,
      banner: "Mailharbor",
      key: ctx.tls.key,
      cert: ctx.tls.cert,
      // SIZE (RFC 1870) advertises the largest limit of any domain; each RCPT then checks its own
      size: Math.min(facts.largestDomainLimit ?? DEFAULT_MESSAGE_SIZE, MESSAGE_SIZE_CAP),
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      hideREQUIRETLS: true,
      disabledCommands: DISABLED_COMMANDS,
      authOptional: true,
      authMethods: AUTH_METHODS,
      // which mechanisms may run without TLS is decided per mechanism in MxConnection.handler_AUTH
      allowInsecureAuth: true,
      // reverse DNS would make every greeting wait on a resolver; the client address is what we log and trace
      disableReverseLookup: true,
      maxRecipients: MAX_RECIPIENTS,
      // RFC 5321 §4.5.3.2.7: the server waits at least 5 minutes for the next command or data block
      socketTimeout: ctx.config.MX_IDLE_TIMEOUT * 1000,
      logger: false,
    });
    this.ctx = ctx;
    this.budget = new MemoryBudget(MEMORY_BUDGET, ctx.config.MX_MEMORY_PER_IP_MB * 1024 * 1024);
    this.log = ctx.log.child({ component: "mx" });
    this.etrnOffered = facts.etrnInUse;
    this.authenticator = new OdmrAuthenticator(ctx.config, this.log.child({ component: "mx-auth" }), "MX");
    this.lookupChanges = new ChangeListener(RECIPIENT_LOOKUP_CHANNEL, this.log);
    if (ctx.config.MX_LOOKUP_CACHE_SECONDS > 0) this.lookupChanges.start();
    this.resolver = createRecipientResolver({ cacheMs: ctx.config.MX_LOOKUP_CACHE_SECONDS * 1000, changes: this.lookupChanges });
  }

  /** Admits a connection within the overall and per-address limits, as an MxConnection. */
  protected createConnection(socket: net.Socket, options?: SMTPConnectionOptions | null): MxConnection | null {
    const address = clientAddress(socket);
    const fromAddress = this.perAddress.get(address) ?? 0;
    const refusal =
      this.connectionCount >= this.ctx.config.MX_MAX_CONNECTIONS
        ? REPLIES.tooManyConnections
        : fromAddress >= this.ctx.config.MX_MAX_CONNECTIONS_PER_IP
          ? REPLIES.tooManyConnectionsFromAddress
          : null;
    if (refusal) {
      this.refuse(socket, refusal, address);
      return null;
    }
    // given back in onClose: smtp-server drops every listener of the raw socket at STARTTLS
    this.perAddress.set(address, fromAddress + 1);
    return new MxConnection(this, socket, options ?? {}, this.log, address);
  }

  /** Beyond its limits the MX says so at once and closes, rather than letting clients queue up (RFC 5321 §3.8). */
  private refuse(socket: net.Socket, reply: Reply, address: string): void {
    doorRefusals.inc({ listener: "mx", reason: reply === REPLIES.tooManyConnections ? "busy" : "per-address" });
    this.log.warn({ code: "MX_CONNECTION_LIMIT", client: address, connections: this.connectionCount }, reply.text);
    socket.on("error", () => undefined);
    socket.end(`${reply.code} ${reply.enhanced} ${this.ctx.config.MAIL_HOSTNAME} ${reply.text}\r\n`);
    socket.resume(); // read (and drop) what the client still sends, so its close is seen
    setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
  }

  onConnect(session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    // no log line here: the one at close carries the session's facts, and with one message per
    // connection (how most senders deliver) every line written costs intake a measurable share
    this.refreshFacts();
    callback();
  }

  /** AUTH with an ODMR login; it allows ETRN for the login's domains (mx-connection.ts) and nothing else. */
  onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback: OnAuthCallback): void {
    const state = mxState(session);
    this.authenticator.answer(auth, state.slot, callback, state.log, (result) => {
      if (result.ok) state.log.info({ login: result.login.login, method: auth.method }, "authenticated");
    });
  }

  onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    const unknown = unknownParameters(address, MAIL_PARAMETERS);
    if (unknown.length) return callback(replyError(REPLIES.unknownParameter, unknown.join(" ")));
    if (needsSmtpUtf8(address.address, session)) return callback(replyError(REPLIES.utf8Required, `<${address.address}>`));
    callback();
  }

  onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    // no RCPT extension is offered (DSN's NOTIFY and ORCPT are not)
    const unknown = unknownParameters(address, new Set());
    if (unknown.length) {
      intakeReplies.inc({ command: "RCPT", class: replyClass(REPLIES.unknownParameter.code) });
      return callback(replyError(REPLIES.unknownParameter, unknown.join(" ")));
    }
    void checkRecipient(address as MxRecipientAddress, session, this.resolver).then((reply) => {
      intakeReplies.inc({ command: "RCPT", class: reply ? replyClass(reply.code) : "2xx" });
      if (!reply) return callback(null);
      mxState(session).log.info({ rcpt: address.address, reply: `${reply.code} ${replyText(reply)}` }, "recipient refused");
      callback(replyError(reply, `<${address.address}>`));
    });
  }

  onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void {
    void acceptMessage(stream, session, this.ctx.config.MAIL_HOSTNAME, this.budget).then((outcome) => {
      intakeReplies.inc({ command: "DATA", class: "queued" in outcome ? "2xx" : replyClass(outcome.refusal.code) });
      if ("queued" in outcome) callback(null, `${replyText(REPLIES.queued)} ${outcome.queued}`);
      else callback(replyError(outcome.refusal));
    });
  }

  onClose(session: SMTPServerSession): void {
    const state = mxState(session);
    const left = (this.perAddress.get(state.slot) ?? 1) - 1;
    if (left > 0) this.perAddress.set(state.slot, left);
    else this.perAddress.delete(state.slot);
    state.log.info({ secure: session.secure, accepted: state.accepted, seconds: Math.round((Date.now() - state.startedAt) / 1000) }, "mx session closed");
  }

  /** Whether some domain has ETRN now (the flag is updated with it); on a database failure, the flag as it is. */
  checkEtrnOffered(): Promise<boolean> {
    return etrnInUse().then(
      (inUse) => (this.etrnOffered = inUse),
      () => this.etrnOffered,
    );
  }

  /** Keeps the advertised SIZE and ETRN in step with the domains, at most once a second, off the greeting's path. */
  private refreshFacts(): void {
    if (this.sizeRefresh || Date.now() - this.sizeCheckedAt < SIZE_REFRESH_MS) return;
    this.sizeCheckedAt = Date.now();
    this.sizeRefresh = readMxFacts()
      .then((facts) => {
        this.options.size = Math.min(facts.largestDomainLimit ?? DEFAULT_MESSAGE_SIZE, MESSAGE_SIZE_CAP);
        this.etrnOffered = facts.etrnInUse;
      })
      .catch((error: { code?: string }) => this.log.warn({ code: error.code ?? "INTERNAL", err: error }, "could not refresh the SIZE limit and ETRN"))
      .finally(() => {
        this.sizeRefresh = null;
      });
  }

  /**
   * Stops listening and tells every session 421 at once, except one whose message is streaming in
   * or being stored: that one gets its reply to the final dot first, within graceMs. (smtp-server
   * answers any later command with 421.) Whatever is left after graceMs is closed with 421.
   */
  shutdown(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.closeWithin(graceMs, () => void this.lookupChanges.stop().then(() => resolve()));
      for (const connection of this.openConnections<MxConnection>()) {
        if (!connection.midCommand) connection.send(REPLIES.shuttingDown.code, replyText(REPLIES.shuttingDown));
      }
    });
  }
}

/** What the MX advertises that depends on the hosted domains. */
export async function readMxFacts(): Promise<MxFacts> {
  const [largestDomainLimit, etrn] = await Promise.all([largestMessageSize(), etrnInUse()]);
  return { largestDomainLimit, etrnInUse: etrn };
}
