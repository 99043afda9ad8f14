// One MX session: smtp-server's connection with the MX's command parser, its own enhanced status
// codes and an error limit. The MX listener builds only this class, so verbs added for other
// listeners (ATRN on the ODMR listener) never reach it: ATRN here is an unknown command (500).
// It adds ETRN (RFC 1985) and AUTH with the ODMR logins, which exists only to allow ETRN: the
// recipient policy in onRcptTo does not look at session.user, so an authenticated client still
// cannot relay.
import type net from "node:net";
import type { Readable } from "node:stream";
import type tls from "node:tls";
import type { SMTPServerAddress } from "smtp-server";
import { answerEtrn } from "./etrn-command.ts";
import { MAX_ERRORS } from "./mx-limits.ts";
import { LIBRARY_REPLY_CODES, REPLIES, hasEnhancedCode, replyText, type Reply } from "./mx-replies.ts";
import type { MxServer } from "./mx-server.ts";
import type { MxSession } from "./mx-session.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { authKeyword, needsEncryption } from "../auth/smtp-auth.ts";
import { AdaptedConnection, type LineProblem, type SMTPConnectionOptions } from "../smtp-server-adapter/adapted-connection.ts";

const LINE_PROBLEM_REPLIES: Record<LineProblem, Reply> = {
  "too-long": REPLIES.commandTooLong,
  "bare-newline": REPLIES.commandBareNewline,
  nul: REPLIES.commandNul,
};

/** The address of MAIL FROM:<…> as written, without a source route (RFC 5321 §4.1.2, which smtp-server drops too). */
const SENT_ADDRESS = /^[^:]*:\s*<(?:@[^\s,:@]+(?:,@[^\s,:@]+)*:)?([^<>]*)>/;

export class MxConnection extends AdaptedConnection<MxServer> {
  private errors = 0;
  /** the EHLO reply is being written (see send) */
  private answeringEhlo = false;

  constructor(server: MxServer, socket: net.Socket | tls.TLSSocket, options: SMTPConnectionOptions, log: Logger, slot: string) {
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
   * smtp-server's 100 ms early-talker wait would cap a sender that opens one connection per message
   * at about nine messages a second, so without MX_GREETING_DELAY_MS the 220 goes out at once. With
   * it, the greeting waits that long and this is Postfix postscreen's pregreet test: RFC 5321 §3.1
   * has the client wait for the 220, so a byte received before it (even a partial line) gets 554
   * and the connection is closed. (MxServer.createConnection applies the MX's own connection
   * limits before a connection is built.)
   */
  protected override beforeGreeting(greet: () => void): void {
    const delay = this.server.ctx.config.MX_GREETING_DELAY_MS;
    if (delay === 0) return greet();
    const talkedFirst = (chunk: Buffer) => {
      clearTimeout(timer);
      this.log.info(
        { code: "MX_PREGREET", bytes: chunk.length, waitedMs: Date.now() - (this.session as MxSession).mx.startedAt },
        "client talked before the greeting",
      );
      this.send(REPLIES.pregreet.code, replyText(REPLIES.pregreet));
      // close() marks the parser closed before the same chunk reaches it, so none of it runs as a command
      this.close();
    };
    const timer = setTimeout(() => {
      this.socket.off("data", talkedFirst);
      greet();
    }, delay);
    timer.unref();
    // ahead of the pipe into the parser, so the check sees the bytes first
    this.socket.prependOnceListener("data", talkedFirst);
  }

  /** A line that must not run (line-checked-stream.ts) gets its own 500 5.5.2, and the session goes on. */
  protected override onLineProblem(problem: LineProblem): void {
    const reply = LINE_PROBLEM_REPLIES[problem];
    this.log.info({ code: "MX_BAD_LINE", problem }, "command line refused");
    this.send(reply.code, replyText(reply));
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

  /**
   * RFC 3207 §4.2: after the TLS handshake the server discards everything it learned from the
   * client before it. smtp-server clears the login, the EHLO name and the transaction itself; the
   * counters that decide when a failing client is shed are cleared here (Postfix restarts them
   * with the TLS session the same way).
   */
  protected override tlsEstablished(wasAuthenticated: boolean): void {
    if (wasAuthenticated) this.log.info({ code: "MX_STARTTLS_RESET" }, "STARTTLS: authentication discarded");
    this.errors = 0;
    this.resetCommandCounters();
  }

  /**
   * smtp-server turns the domain of every address into Unicode (punycode.toUnicode). For the
   * sender that form would be stored and replayed as MAIL FROM to the customer without SMTPUTF8
   * (RFC 6531 §3.2 needs it for a non-ASCII address) and used as the DSN address, so the MX keeps
   * the sender's domain as the client sent it: an A-label stays an A-label (RFC 5890 §2.3.2.1),
   * and a U-label is there only because the client used SMTPUTF8. Recipients keep smtp-server's
   * form, which is what hosted domains are looked up by.
   */
  protected override addressParsed(name: string, command: Buffer | string, parsed: SMTPServerAddress): void {
    if (name.toUpperCase() !== "MAIL FROM" || !parsed.address) return;
    const sent = SENT_ADDRESS.exec(command.toString("utf8"))?.[1];
    const at = parsed.address.lastIndexOf("@");
    if (!sent || at < 0) return;
    parsed.address = parsed.address.slice(0, at + 1) + sent.slice(sent.lastIndexOf("@") + 1);
  }

  /** The EHLO keywords: ETRN, and the AUTH it needs (as on the ODMR listener), only while some domain has ETRN enabled. */
  private ehloLines(lines: string[]): string[] {
    const [greeting, ...keywords] = lines;
    const kept = keywords.filter((k) => !k.startsWith("AUTH "));
    if (!this.server.etrnOffered) return [greeting, ...kept];
    if (!this.session.user) kept.push(authKeyword(this.secure));
    return [greeting, ...kept, "ETRN"];
  }

  /** While no domain has ETRN, AUTH and ETRN are not offered, and are answered as unknown commands. */
  private whenOffered(callback: () => void, handle: () => void): void {
    if (this.server.etrnOffered) return handle();
    // the flag may lag a domain that was just given ETRN by a second: look before refusing
    void this.server.checkEtrnOffered().then((offered) => {
      if (offered) return handle();
      this.send(REPLIES.unknownCommand.code, replyText(REPLIES.unknownCommand));
      callback();
    });
  }

  override handler_AUTH(command: Buffer, callback: () => void): void {
    this.whenOffered(callback, () => {
      if (needsEncryption(command, this.secure)) {
        this.send(REPLIES.encryptionRequired.code, replyText(REPLIES.encryptionRequired));
        return callback();
      }
      super.handler_AUTH(command, callback);
    });
  }

  /**
   * The whole DATA transfer, from the 354 to the final dot, has MX_DATA_TIMEOUT seconds (RFC 5321
   * §4.5.3.2.6: 10 minutes). The idle timeout alone is restarted by every byte, so a client that
   * trickles its message could hold the connection and the message's memory for ever. Storing
   * after the dot is not counted: that is the server's time, not the client's.
   */
  override handler_DATA(command: Buffer, callback: () => void): void {
    super.handler_DATA(command, callback);
    const stream = this.dataStream;
    if (!stream) return;
    const deadline = setTimeout(() => this.dataTimedOut(stream), this.server.ctx.config.MX_DATA_TIMEOUT * 1000);
    deadline.unref();
    const stop = () => clearTimeout(deadline);
    stream.once("end", stop);
    stream.once("close", stop);
  }

  private dataTimedOut(stream: Readable): void {
    if (this.ending || stream.readableEnded) return;
    this.log.info({ code: "MX_DATA_TIMEOUT", seconds: this.server.ctx.config.MX_DATA_TIMEOUT, bytes: this.dataBytes }, "message data took too long; closing");
    this.send(REPLIES.dataTimeout.code, replyText(REPLIES.dataTimeout));
    // the onData handler frees the message's memory on the stream's error, now rather than when the socket is gone
    stream.destroy(Object.assign(new Error("DATA deadline passed"), { code: "ETIMEDOUT" }));
    this.close();
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
    void answerEtrn(command.toString("utf8").slice(4), this.session, this.server.etrnRunner).then((reply) => {
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
    if ((code >= 500 || code === 459) && !this.ending && ++this.errors >= MAX_ERRORS) {
      this.log.info({ code: "MX_TOO_MANY_ERRORS", errors: this.errors }, "closing a session with too many errors");
      super.send(REPLIES.tooManyErrors.code, replyText(REPLIES.tooManyErrors), false);
    }
  }
}
