// One MX session: smtp-server's connection with the MX's command parser, its own enhanced status
// codes and an error limit. The MX listener builds only this class, so verbs added for other
// listeners (ATRN on the ODMR listener) never reach it: ATRN here is an unknown command (500).
// It adds ETRN (RFC 1985) and AUTH with the ODMR logins, which exists only to allow ETRN: the
// recipient policy in onRcptTo does not look at session.user, so an authenticated client still
// cannot relay.
import type net from "node:net";
import type tls from "node:tls";
import type { SMTPServer } from "smtp-server";
import { SMTPConnection, type SMTPConnectionOptions } from "smtp-server/lib/smtp-connection.js";
import { authKeyword, needsEncryption } from "../odmr/odmr-auth.ts";
import { answerEtrn } from "./etrn-command.ts";
import { MxCommandStream, type LineProblem } from "./mx-command-stream.ts";
import { MAX_ERRORS } from "./mx-limits.ts";
import { LIBRARY_REPLY_CODES, REPLIES, hasEnhancedCode, replyText, type Reply } from "./mx-replies.ts";
import type { MxServer } from "./mx-server.ts";
import type { MxSession } from "./mx-session.ts";
import type { Logger } from "../../lib/log/logger.ts";

const LINE_PROBLEM_REPLIES: Record<LineProblem, Reply> = {
  "too-long": REPLIES.commandTooLong,
  "bare-newline": REPLIES.commandBareNewline,
  nul: REPLIES.commandNul,
};

export class MxConnection extends SMTPConnection {
  declare _server: MxServer;
  private errors = 0;
  /** the EHLO reply is being written (see send) */
  private answeringEhlo = false;

  constructor(server: SMTPServer, socket: net.Socket | tls.TLSSocket, options: SMTPConnectionOptions, log: Logger, slot: string) {
    super(server, socket, options);
    (this.session as MxSession).mx = {
      log: log.child({ session: this.id, client: this.remoteAddress }),
      slot,
      startedAt: Date.now(),
      accepted: 0,
    };
  }

  get log(): Logger {
    return (this.session as MxSession).mx.log;
  }

  /**
   * Replaces smtp-server's init(), which holds every greeting 100 ms as an early-talker check and so
   * caps a sender that opens one connection per message at about nine messages a second. Without
   * MX_GREETING_DELAY_MS the 220 goes out at once. With it, the greeting waits that long and this is
   * Postfix postscreen's pregreet test: RFC 5321 §3.1 has the client wait for the 220, so a byte
   * received before it (even a partial line) gets 554 and the connection is closed.
   * (smtp-server's init() also checks its maxClients, which the MX does not use: MxServer.connect
   * applies the MX's own limits before a connection is built.)
   */
  override init(): void {
    this._setListeners(() => {
      const delay = this._server.ctx.config.MX_GREETING_DELAY_MS;
      if (delay === 0) return this.connectionReady();
      const talkedFirst = (chunk: Buffer) => {
        clearTimeout(timer);
        this.log.info({ code: "MX_PREGREET", bytes: chunk.length, waitedMs: Date.now() - (this.session as MxSession).mx.startedAt }, "client talked before the greeting");
        this.send(REPLIES.pregreet.code, replyText(REPLIES.pregreet));
        // close() marks the parser closed before the same chunk reaches it, so none of it runs as a command
        this.close();
      };
      const timer = setTimeout(() => {
        this._socket.off("data", talkedFirst);
        this.connectionReady();
      }, delay);
      timer.unref();
      // ahead of the pipe into the parser, so the check sees the bytes first
      this._socket.prependOnceListener("data", talkedFirst);
    });
  }

  /** Called from smtp-server's constructor and again after STARTTLS, for the TLS session's fresh parser. */
  _createParser(): MxCommandStream {
    const parser = new MxCommandStream();
    parser.oncommand = (command, callback) => this._onCommand(command, callback);
    parser.onlineproblem = (problem, done) => {
      const reply = LINE_PROBLEM_REPLIES[problem];
      this.log.info({ code: "MX_BAD_LINE", problem }, "command line refused");
      this.send(reply.code, replyText(reply));
      this._whenWritable(done);
    };
    parser.on("error", (err: Error) => this.send(421, `4.3.0 Error: ${err.message}`));
    return parser;
  }

  /** smtp-server builds the EHLO reply; send() puts the MX's own AUTH and ETRN lines in it. */
  override handler_EHLO(command: Buffer, callback: () => void): void {
    this.answeringEhlo = true;
    try {
      super.handler_EHLO(command, callback);
    } finally {
      this.answeringEhlo = false;
    }
  }

  /** The EHLO keywords: ETRN, and the AUTH it needs (as on the ODMR listener), only while some domain has ETRN enabled. */
  private ehloLines(lines: string[]): string[] {
    const [greeting, ...keywords] = lines;
    const kept = keywords.filter((k) => !k.startsWith("AUTH "));
    if (!this._server.etrnOffered) return [greeting, ...kept];
    if (!this.session.user) kept.push(authKeyword(this.secure));
    return [greeting, ...kept, "ETRN"];
  }

  /** While no domain has ETRN, AUTH and ETRN are not offered, and are answered as unknown commands. */
  private whenOffered(callback: () => void, handle: () => void): void {
    if (this._server.etrnOffered) return handle();
    // the flag may lag a domain that was just given ETRN by a second: look before refusing
    void this._server.checkEtrnOffered().then((offered) => {
      if (offered) return handle();
      this.send(REPLIES.unknownCommand.code, replyText(REPLIES.unknownCommand));
      callback();
    });
  }

  override handler_AUTH(command: Buffer, callback: () => void): void {
    this.whenOffered(callback, () => {
      const method = (command.toString("latin1").trim().split(/\s+/)[1] ?? "").toUpperCase();
      if (needsEncryption(method, this.secure)) {
        this.send(REPLIES.encryptionRequired.code, replyText(REPLIES.encryptionRequired));
        return callback();
      }
      super.handler_AUTH(command, callback);
    });
  }

  /** RFC 1985: ETRN starts a queue run and is answered at once; the run goes on by itself. */
  handler_ETRN(command: Buffer, callback: () => void): void {
    this.whenOffered(callback, () => this.etrn(command, callback));
  }

  private etrn(command: Buffer, callback: () => void): void {
    const refusal = !this.hostNameAppearsAs ? REPLIES.helloFirst : this.session.envelope.mailFrom ? REPLIES.transactionInProgress : null;
    if (refusal) {
      this.send(refusal.code, replyText(refusal));
      return callback();
    }
    void answerEtrn(command.toString("utf8").slice(4), this.session, this._server.etrnRunner).then((reply) => {
      this.log.info({ command: "ETRN", reply: `${reply.code} ${reply.enhanced} ${reply.text}` }, "ETRN answered");
      this.send(reply.code, replyText(reply));
      callback();
    });
  }

  send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (this.answeringEhlo && code === 250 && Array.isArray(data)) data = this.ehloLines(data);
    let text = data;
    let enhanced = context;
    if (typeof data === "string") {
      const library = LIBRARY_REPLY_CODES[data];
      if (library) text = `${library} ${data}`;
      // the reply already carries its enhanced code: keep smtp-server from adding its own guess
      if (library || hasEnhancedCode(data)) enhanced = false;
    }
    super.send(code, text, enhanced);
    // RFC 5321 §7.8 lets a server shed clients that keep failing (closing with 421, §3.8); 4yz replies are
    // ours (a paused domain, a database outage), not the client's fault, and do not count, except
    // 459: an ETRN for a node that is not the client's (RFC 1985), which a prober would repeat
    if ((code >= 500 || code === 459) && !this._closing && ++this.errors >= MAX_ERRORS) {
      this.log.info({ code: "MX_TOO_MANY_ERRORS", errors: this.errors }, "closing a session with too many errors");
      super.send(REPLIES.tooManyErrors.code, replyText(REPLIES.tooManyErrors), false);
    }
  }
}
