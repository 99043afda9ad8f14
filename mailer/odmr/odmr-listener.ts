// The ODMR listeners: an smtp-server subclass whose connections are OdmrConnections, and what the
// plain and the implicit-TLS listener share (the connection slots, AUTH throttling, the ATRN rate
// limit, the reversed sessions in progress, and one orderly shutdown for both).
import type net from "node:net";
import type tls from "node:tls";
import type { SMTPServerAuthentication, SMTPServerOptions, SMTPServerSession } from "smtp-server";
import { errorCode } from "../../lib/errors.ts";
import { releaseLeases } from "../../lib/queue/release-leases.ts";
import type { MailerContext } from "../service.ts";
import { AtrnRateLimiter } from "./atrn-rate-limiter.ts";
import { ConnectionSlots, type SlotRefusal } from "./connection-slots.ts";
import { OdmrConnection } from "./odmr-connection.ts";
import { REPLIES } from "./replies.ts";
import { doorRefusals } from "../../lib/metrics/metrics.ts";
import { AUTH_METHODS, OdmrAuthenticator, type OnAuthCallback } from "../auth/smtp-auth.ts";
import type { ReverseSession } from "../delivery/reverse-session.ts";
import type { SMTPConnectionOptions } from "../smtp-server-adapter/adapted-connection.ts";
import { AdaptedServer } from "../smtp-server-adapter/adapted-server.ts";

/** How long a refused connection may linger for its 421 to be read. */
const REFUSAL_LINGER_MS = 2000;

export class OdmrListener {
  readonly authenticator: OdmrAuthenticator;
  readonly atrnRate: AtrnRateLimiter;
  readonly slots: ConnectionSlots;
  readonly servers: OdmrServer[] = [];
  private readonly reversed = new Map<ReverseSession, Promise<unknown>>();
  private stopping: Promise<void> | null = null;

  constructor(readonly ctx: MailerContext) {
    this.authenticator = new OdmrAuthenticator(ctx.config, ctx.log.child({ listener: "odmr-auth" }), "ODMR");
    this.atrnRate = new AtrnRateLimiter(ctx.config.ATRN_RATE_PER_MINUTE);
    this.slots = new ConnectionSlots(ctx.config.ODMR_MAX_CONNECTIONS, ctx.config.ODMR_MAX_CONNECTIONS_PER_IP);
  }

  createServer(label: string, implicitTls: boolean): OdmrServer {
    const { config, tls: material } = this.ctx;
    const server = new OdmrServer(this, label, {
      name: config.MAIL_HOSTNAME,
      secure: implicitTls,
      key: material.key,
      cert: material.cert,
      authMethods: AUTH_METHODS,
      // which mechanisms may run without TLS is decided per mechanism in OdmrConnection.handler_AUTH
      allowInsecureAuth: true,
      hidePIPELINING: true,
      hide8BITMIME: true,
      hideSMTPUTF8: true,
      disabledCommands: ["XCLIENT", "XFORWARD", "WIZ", "SHELL", "KILL"],
      disableReverseLookup: true,
      socketTimeout: config.ODMR_IDLE_TIMEOUT * 1000,
      // the connection limits are the listener's own (ConnectionSlots, both listeners, turned around
      // or not); smtp-server's bounds only sockets still in the TLS handshake of ODMRS_PORT
      maxClients: config.ODMR_MAX_CONNECTIONS,
      logger: false,
    });
    server.on("error", (error: Error & { code?: string }) => {
      this.ctx.log.info({ listener: label, code: "ODMR_CONNECTION_ERROR", err: error }, "ODMR connection error");
    });
    this.servers.push(server);
    return server;
  }

  /**
   * Beyond the connection limits the client is told 421 at once (RFC 5321 §3.1: instead of the
   * greeting) and the connection closed; it becomes no session and writes no session row.
   */
  refuse(socket: net.Socket, why: SlotRefusal, label: string, beforeTls: boolean): void {
    const reply = why === "busy" ? REPLIES.tooManyConnections : REPLIES.tooManyFromAddress;
    doorRefusals.inc({ listener: label, reason: why });
    this.ctx.log.warn(
      {
        listener: label,
        code: why === "busy" ? "ODMR_CONNECTION_LIMIT" : "ODMR_CONNECTION_LIMIT_PER_IP",
        remote: socket.remoteAddress,
        connections: this.slots.inUse,
      },
      reply.text,
    );
    socket.on("error", () => undefined);
    // before an implicit TLS handshake nothing the client could read can be written: just close
    if (beforeTls) return void socket.destroy();
    socket.end(`${reply.code} ${this.ctx.config.MAIL_HOSTNAME} ${reply.text}\r\n`);
    socket.resume(); // read (and drop) what the client still sends, so its close is seen
    setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
  }

  /** A reversed session runs outside smtp-server; shutdown waits for it here. */
  trackReversed(session: ReverseSession, done: Promise<unknown>): void {
    this.reversed.set(session, done);
    void done.finally(() => this.reversed.delete(session));
    if (this.stopping) session.stop("mailer shutting down");
  }

  /**
   * Stops both listeners once: no new connections; sessions before the turn-around get
   * smtp-server's 421 at the end of the grace period; reversed sessions finish the message in
   * flight and QUIT, or are cut off when the grace period ends. Then every lease this mailer
   * still holds is released.
   */
  shutdown(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      const closed = this.servers.map((server) => new Promise<void>((resolve) => server.closeWithin(graceMs, resolve)));
      for (const session of this.reversed.keys()) session.stop("mailer shutting down");
      const sessions = Promise.allSettled([...this.reversed.values()]);
      const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
      if ((await Promise.race([sessions, timer])) === "timeout") {
        for (const session of this.reversed.keys()) session.abort("mailer shutting down (grace period over)");
        await sessions;
      }
      await Promise.all(closed);
      try {
        const released = await releaseLeases(this.ctx.instanceId);
        if (released > 0) this.ctx.log.info({ released }, "released delivery leases");
      } catch (error) {
        this.ctx.log.error({ code: errorCode(error), err: error }, "could not release leases; they expire on their own");
      }
    })();
    return this.stopping;
  }
}

/** A socket admitted at accept, on its way (through an implicit TLS handshake) to connect(). */
interface Admitted {
  release: () => void;
  acceptedAt: number;
  handshakeDeadline: NodeJS.Timeout | null;
}

/** One TCP connection of a listener: the TLS socket smtp-server builds on it reports the same. */
const socketKey = (socket: net.Socket) => `${socket.remoteAddress}|${socket.remotePort}`;

export class OdmrServer extends AdaptedServer {
  /** smtp-server passes the session, not the connection, to onAuth */
  readonly connectionsBySession = new WeakMap<SMTPServerSession, OdmrConnection>();
  private readonly admitted = new Map<string, Admitted>();

  constructor(
    readonly listener: OdmrListener,
    readonly label: string,
    options: SMTPServerOptions,
  ) {
    super(options);
    // Sockets are admitted (or refused) the moment they are accepted, before smtp-server sees them:
    // on ODMRS_PORT that is before the TLS handshake, which a client could otherwise draw out
    // outside every limit. smtp-server's own accept handler runs only for admitted sockets.
    this.admitFirst((socket) => this.admit(socket));
  }

  private admit(socket: net.Socket): boolean {
    const implicitTls = Boolean(this.options.secure);
    const slot = this.listener.slots.take(socket.remoteAddress ?? "");
    if ("refused" in slot) {
      this.listener.refuse(socket, slot.refused, this.label, implicitTls);
      return false;
    }
    const key = socketKey(socket);
    const admitted: Admitted = { release: slot.release, acceptedAt: Date.now(), handshakeDeadline: null };
    if (implicitTls) {
      // the pre-AUTH deadline counts from here, and the handshake is part of it
      admitted.handshakeDeadline = setTimeout(() => {
        if (this.admitted.get(key) !== admitted) return;
        doorRefusals.inc({ listener: this.label, reason: "preauth-timeout" });
        this.listener.ctx.log.info(
          { listener: this.label, code: "ODMR_PREAUTH_TIMEOUT", remote: socket.remoteAddress },
          "closed: TLS handshake not done in time",
        );
        // the topmost socket: tearing the TLS wrap down from below mid-handshake crashes Node
        this.topmostSocket(socket).destroy();
      }, this.listener.ctx.config.ODMR_PREAUTH_SECONDS * 1000);
      admitted.handshakeDeadline.unref();
    }
    this.admitted.set(key, admitted);
    // a socket that never reaches connect() (a failed handshake) gives its slot back when it goes;
    // one that does is the connection's to give back (smtp-server drops these listeners at STARTTLS)
    socket.once("close", () => {
      if (this.admitted.get(key) === admitted) this.forget(key);
      slot.release();
    });
    return true;
  }

  private forget(key: string): Admitted | undefined {
    const admitted = this.admitted.get(key);
    this.admitted.delete(key);
    if (admitted?.handshakeDeadline) clearTimeout(admitted.handshakeDeadline);
    return admitted;
  }

  protected createConnection(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): OdmrConnection | null {
    const admitted = this.forget(socketKey(socket));
    // every socket smtp-server hands over was admitted at accept; one that was not is not served
    if (!admitted) {
      socket.destroy();
      return null;
    }
    return new OdmrConnection(this, socket, socketOptions, admitted.release, admitted.acceptedAt);
  }

  /** RFC 3207 §4.2: after the TLS handshake nothing learned before it counts (smtp-server clears its own part). */
  override onSecure(socket: net.Socket | tls.TLSSocket, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    this.connectionsBySession.get(session)?.tlsStarted();
    callback();
  }

  override onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback: OnAuthCallback): void {
    const connection = this.connectionsBySession.get(session);
    this.listener.authenticator.answer(auth, session.remoteAddress, callback, this.listener.ctx.log, (result) => {
      connection?.authenticated(result, auth.method, auth.username ?? "");
    });
  }
}
