// The one place where a listener's connection touches smtp-server's private members. MxConnection
// and OdmrConnection extend AdaptedConnection and use only its named hooks and helpers below, plus
// smtp-server's public surface (session, send, close, handler_<VERB>, hostNameAppearsAs, secure).
// smtp-server is pinned (smtp-server-version.ts refuses an untested version at start) and each
// private member used here has a contract test (test/integration/smtp-server-contract.test.ts),
// so an upgrade that changes one fails there, in one place, loudly.
//
// Private members used: _setListeners and connectionReady (init without the 100 ms wait),
// _createParser and _onCommand (parsing and intercepting commands), _whenWritable, _resetSession,
// _parseAddressCommand, _dataStream and _handlerPending (a message in progress), _parser (dataBytes,
// _remainder, isClosed), _socket, _closing and _closed, _nextHandler, _upgrading, _ready,
// _unrecognizedCommands and _unauthenticatedCommands, _server (connections, _closeTimeout),
// _onClose, _onError and _onTimeout; upgrade()'s secureCallback.
import type net from "node:net";
import type { Readable } from "node:stream";
import type tls from "node:tls";
import type { SMTPServer, SMTPServerAddress } from "smtp-server";
import { SMTPConnection, type SMTPConnectionOptions } from "smtp-server/lib/smtp-connection.js";
import { LineCheckedStream, type LineProblem } from "./line-checked-stream.ts";

export type { LineProblem, SMTPConnectionOptions };

export abstract class AdaptedConnection<Server extends SMTPServer = SMTPServer> extends SMTPConnection {
  /** the socket was handed over (detachSocket): smtp-server's commands and socket hooks no longer act */
  private detached = false;

  constructor(server: Server, socket: net.Socket | tls.TLSSocket, options?: SMTPConnectionOptions | null) {
    super(server, socket, options);
  }

  /** The listener's server (the subclass of SMTPServer this connection was built by). */
  protected get server(): Server {
    return this._server as unknown as Server;
  }

  protected get socket(): net.Socket | tls.TLSSocket {
    return this._socket;
  }

  /** close() was called or the socket is gone: nothing more should be written. */
  protected get ending(): boolean {
    return this._closing || this._closed;
  }

  /**
   * The client is at the command prompt: no multi-line exchange (an AUTH continuation) is waiting,
   * no STARTTLS handshake runs, the greeting was sent and the server is not closing. Only then does
   * a line reach its verb's handler.
   */
  protected get atCommandPrompt(): boolean {
    return !this._nextHandler && !this._upgrading && this._ready && !this._server._closeTimeout;
  }

  /** A command's handler is still running (onData storing a message) or message data is streaming in. */
  get midCommand(): boolean {
    return this._handlerPending || Boolean(this._dataStream);
  }

  /** The DATA stream while a message streams in (at run time a PassThrough). */
  protected get dataStream(): Readable | null {
    return (this._dataStream as unknown as Readable | false | null) || null;
  }

  /** Bytes of the current message's data received so far. */
  protected get dataBytes(): number | undefined {
    return this._parser ? this._parser.dataBytes : undefined;
  }

  // ---- hooks a listener may implement ----------------------------------------------------

  /**
   * Called when the connection may greet; calls `greet` to send the 220. The default greets at
   * once: smtp-server's own init() holds every greeting 100 ms as an early-talker check (and
   * checks its maxClients); the listeners apply their own connection caps before a connection is
   * built, and the MX has its own pregreet test (MX_GREETING_DELAY_MS).
   */
  protected beforeGreeting(greet: () => void): void {
    greet();
  }

  /**
   * Every command line passes here first. Returns true when it was dealt with (the hook then calls
   * `callback`, at once or after writing, to resume parsing), false to let smtp-server run it.
   */
  protected interceptCommand(_command: Buffer, _callback: () => void): boolean {
    return false;
  }

  /** With this hook the connection parses with LineCheckedStream, which reports lines that must not run here. */
  protected onLineProblem?(problem: LineProblem): void;

  /** smtp-server parsed MAIL FROM or RCPT TO; the hook may adjust what it parsed. */
  protected addressParsed(_name: string, _command: Buffer | string, _parsed: SMTPServerAddress): void {}

  /**
   * The TLS handshake after STARTTLS is done; smtp-server has cleared its session (RFC 3207 §4.2).
   * `wasAuthenticated`: a login from before the handshake was among what it discarded.
   */
  protected tlsEstablished(_wasAuthenticated: boolean): void {}

  /** The socket closed (once; not for a detached socket). */
  protected onClosed(): void {}

  /** The idle timeout fired (not for a detached socket); smtp-server then answers 421 and closes. */
  protected onIdleTimeout(): void {}

  // ---- helpers ---------------------------------------------------------------------------

  /** Runs `next` once what was written has drained (how smtp-server resumes parsing after a reply). */
  protected whenWritable(next: () => void): void {
    this._whenWritable(next);
  }

  /** Starts a fresh transaction and copies the connection's facts (its EHLO name, addresses, TLS) into the session, as EHLO does (RFC 5321 §4.1.4). */
  protected resetSession(): void {
    this._resetSession();
  }

  /** Zeroes smtp-server's counts of unrecognized and unauthenticated commands (which end a session at 10). */
  protected resetCommandCounters(): void {
    this._unrecognizedCommands = 0;
    this._unauthenticatedCommands = 0;
  }

  /**
   * Stops smtp-server reading: the parser is unpiped and marked closed, so the socket pauses and
   * what arrives next waits in it. Returns whether input had already arrived (in the parser or the socket).
   */
  protected stopReading(): boolean {
    const socket = this._socket;
    const parser = this._parser;
    if (parser) {
      socket.unpipe(parser);
      parser.isClosed = true;
    }
    return Boolean(parser && (parser._remainder.length > 0 || parser.writableLength > 0)) || socket.readableLength > 0;
  }

  /**
   * Takes the socket from smtp-server for good (after stopReading): out of the server's connection
   * list (its close() would write 421 into it), no idle timeout, and smtp-server's command and
   * close / error / timeout handling inert. onClosed is not called for it.
   */
  protected detachSocket(): net.Socket | tls.TLSSocket {
    this.detached = true;
    this._server.connections.delete(this);
    this._socket.setTimeout(0);
    return this._socket;
  }

  // ---- smtp-server's methods, overridden here only ---------------------------------------

  override init(): void {
    this._setListeners(() => this.beforeGreeting(() => this.connectionReady()));
  }

  /** Called from smtp-server's constructor and again after STARTTLS, for the TLS session's fresh parser. */
  override _createParser(): ReturnType<SMTPConnection["_createParser"]> {
    if (!this.onLineProblem) return super._createParser();
    const parser = new LineCheckedStream();
    parser.oncommand = (command, callback) => this._onCommand(command, callback);
    parser.onlineproblem = (problem, done) => {
      this.onLineProblem?.(problem);
      this._whenWritable(done);
    };
    parser.on("error", (err: Error) => this.send(421, `4.3.0 Error: ${err.message}`));
    return parser;
  }

  override _onCommand(command: Buffer, callback?: () => void): void {
    if (this.detached) return;
    if (this.interceptCommand(command, callback ?? (() => undefined))) return;
    super._onCommand(command, callback);
  }

  override _parseAddressCommand(name: string, command: Buffer | string): ReturnType<SMTPConnection["_parseAddressCommand"]> {
    const parsed = super._parseAddressCommand(name, command);
    if (parsed) this.addressParsed(name, command, parsed);
    return parsed;
  }

  override upgrade(callback: () => void, secureCallback?: () => void): void {
    const wasAuthenticated = Boolean(this.session.user);
    super.upgrade(callback, () => {
      this.tlsEstablished(wasAuthenticated);
      secureCallback?.();
    });
  }

  override _onClose(): void {
    if (this.detached) return;
    const first = !this._closed;
    super._onClose();
    if (first) this.onClosed();
  }

  override _onError(error: Error & { code?: string; remoteAddress?: string }): void {
    if (this.detached) return;
    super._onError(error);
  }

  override _onTimeout(): void {
    if (this.detached) return;
    this.onIdleTimeout();
    super._onTimeout();
  }
}
