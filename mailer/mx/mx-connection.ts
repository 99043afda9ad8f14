// One MX session: smtp-server's connection with the MX's command parser, its own enhanced status
// codes and an error limit. The MX listener builds only this class, so verbs added for other
// listeners (ATRN on the ODMR listener) never reach it: ATRN here is an unknown command (500).
// A later AUTH (for ETRN) would be enabled on the server's options; the recipient policy in
// onRcptTo does not look at session.user, so an authenticated client still cannot relay.
import type net from "node:net";
import type tls from "node:tls";
import type { SMTPServer } from "smtp-server";
import { SMTPConnection, type SMTPConnectionOptions } from "smtp-server/lib/smtp-connection.js";
import { MxCommandStream, type LineProblem } from "./mx-command-stream.ts";
import { MAX_ERRORS } from "./mx-limits.ts";
import { LIBRARY_REPLY_CODES, REPLIES, hasEnhancedCode, replyText, type Reply } from "./mx-replies.ts";
import type { MxSession } from "./mx-session.ts";
import type { Logger } from "../../lib/log/logger.ts";

const LINE_PROBLEM_REPLIES: Record<LineProblem, Reply> = {
  "too-long": REPLIES.commandTooLong,
  "bare-newline": REPLIES.commandBareNewline,
  nul: REPLIES.commandNul,
};

export class MxConnection extends SMTPConnection {
  private errors = 0;

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

  send(code: number, data?: string | string[] | null, context?: string | false): void {
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
    // ours (a paused domain, a database outage), not the client's fault, and do not count
    if (code >= 500 && !this._closing && ++this.errors >= MAX_ERRORS) {
      this.log.info({ code: "MX_TOO_MANY_ERRORS", errors: this.errors }, "closing a session with too many errors");
      super.send(REPLIES.tooManyErrors.code, replyText(REPLIES.tooManyErrors), false);
    }
  }
}
