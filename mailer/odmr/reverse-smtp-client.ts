// The SMTP client side of a turned-around ODMR session (RFC 2645 §4.3): after our 250 to ATRN
// we are the client on the customer's connection (and inside its TLS session, where we stay the
// TLS server). It waits for the customer's 220 before saying anything, applies the RFC 5321
// §4.5.3.2 timeouts step by step (greeting, MAIL/RCPT, DATA initiation, each data block, the
// final dot), pipelines the envelope when the customer offers PIPELINING (RFC 2920), and can hold
// back a message's final dot until the caller is ready (see reverse-session.ts). A general-purpose
// client (nodemailer's) has one idle timeout for all of these and sends the dot itself.
import type net from "node:net";

export interface ReverseTimeouts {
  greetingMs: number;
  commandMs: number;
  dataInitMs: number;
  dataBlockMs: number;
  finalDotMs: number;
}

export interface Reply {
  code: number;
  /** the whole reply on one line (continuation lines joined with a space), e.g. "550 5.1.1 no such user" */
  text: string;
  /** the text of each line, without the code */
  lines: string[];
}

export interface Capabilities {
  /** the name the customer's server gave in its EHLO reply */
  serverName: string;
  pipelining: boolean;
  eightBitMime: boolean;
  smtputf8: boolean;
  /** SIZE limit (RFC 1870), 0 when none was announced */
  maxSize: number;
}

/** The replies to one envelope; `rcpt` entries are null when MAIL was refused, `data` when DATA was not sent. */
export interface EnvelopeReplies {
  mail: Reply;
  rcpt: (Reply | null)[];
  data: Reply | null;
}

export type ClientErrorKind = "timeout" | "connection-lost";

export class ReverseClientError extends Error {
  constructor(readonly kind: ClientErrorKind, message: string) {
    super(message);
    this.name = "ReverseClientError";
  }
}

interface Waiter {
  timeoutMs: number;
  step: string;
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

const CRLF = Buffer.from("\r\n");
const STUFFING_DOT = Buffer.from(".");
const FINAL_DOT = Buffer.from(".\r\n");
/** body pieces are written in chunks of about this size, each one a "data block" */
export const WRITE_CHUNK = 64 * 1024;
/** a reply line longer than this (RFC 5321 §4.5.3.1.5: 512) is a broken peer */
const MAX_REPLY_BUFFER = 64 * 1024;

/** RFC 5321 §4.5.2: a line starting with "." gets another "."; the data ends with CRLF. */
export function dotStuff(raw: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  if (raw[0] === 0x2e) pieces.push(STUFFING_DOT);
  for (let i = raw.indexOf("\n.", 0); i >= 0; i = raw.indexOf("\n.", start)) {
    pieces.push(raw.subarray(start, i + 1), STUFFING_DOT);
    start = i + 1;
  }
  pieces.push(raw.subarray(start));
  if (raw.length < 2 || raw[raw.length - 2] !== 0x0d || raw[raw.length - 1] !== 0x0a) pieces.push(CRLF);
  return pieces;
}

export class ReverseSmtpClient {
  private buffer = "";
  private lines: string[] = [];
  private replies: Reply[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private failure: ReverseClientError | null = null;

  private readonly listeners = {
    data: (chunk: Buffer) => this.onData(chunk),
    end: () => this.fail(new ReverseClientError("connection-lost", "the customer closed the connection")),
    close: () => this.fail(new ReverseClientError("connection-lost", "the connection closed")),
    error: (error: Error) => this.fail(new ReverseClientError("connection-lost", `connection error: ${error.message}`)),
  };

  constructor(private readonly socket: net.Socket, private readonly timeouts: ReverseTimeouts) {
    socket.setNoDelay(true);
    socket.on("data", this.listeners.data);
    socket.on("end", this.listeners.end);
    socket.on("close", this.listeners.close);
    socket.on("error", this.listeners.error);
    // bytes the customer sent after our 250 (its 220) are waiting in the paused socket
    socket.resume();
  }

  /**
   * Lets go of the socket: stops reading it (paused) and drops this client's listeners, so a TLS
   * layer or another client can take it over (an outbound ETRN connection after its 220, EHLO
   * and STARTTLS). Nothing may be left unread: call it only when no reply is outstanding.
   */
  detach(): void {
    this.socket.pause();
    this.socket.off("data", this.listeners.data);
    this.socket.off("end", this.listeners.end);
    this.socket.off("close", this.listeners.close);
    this.socket.off("error", this.listeners.error);
  }

  /** RFC 3207 §4: STARTTLS; after a 220 the socket is let go of (detach) for the TLS handshake. */
  async startTls(): Promise<Reply> {
    this.write("STARTTLS\r\n");
    const reply = await this.expect("STARTTLS", this.timeouts.commandMs);
    if (reply.code === 220) this.detach();
    return reply;
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString("latin1");
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
    }
    if (this.buffer.length > MAX_REPLY_BUFFER) {
      this.fail(new ReverseClientError("connection-lost", "the customer sent an over-long reply line"));
      this.socket.destroy();
    }
  }

  private onLine(line: string): void {
    const match = /^(\d{3})([ -]?)(.*)$/.exec(line);
    if (!match) {
      this.fail(new ReverseClientError("connection-lost", `not an SMTP reply: ${JSON.stringify(line.slice(0, 100))}`));
      this.socket.destroy();
      return;
    }
    this.lines.push(line);
    if (match[2] === "-") return; // RFC 5321 §4.2.1: more lines follow
    const code = Number(match[1]);
    // read as latin1 so a chunk boundary cannot split a character; replies may carry UTF-8 (RFC 6531)
    const lines = this.lines.map((l) => Buffer.from(l.slice(4), "latin1").toString("utf8"));
    this.lines = [];
    this.replies.push({ code, text: `${code} ${lines.join(" ")}`.trimEnd(), lines });
    this.deliver();
  }

  private deliver(): void {
    while (this.replies.length > 0 && this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      const reply = this.replies.shift()!;
      this.clearTimer();
      waiter.resolve(reply);
    }
    this.armTimer();
  }

  /** Only the reply at the head of the queue is timed, from the moment it is the one awaited. */
  private armTimer(): void {
    if (this.timer || this.waiters.length === 0 || this.failure) return;
    const head = this.waiters[0];
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fail(new ReverseClientError("timeout", `timeout waiting for the reply to ${head.step} (${Math.round(head.timeoutMs / 1000)} s)`));
    }, head.timeoutMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fail(error: ReverseClientError): void {
    if (this.failure) return;
    this.failure = error;
    this.clearTimer();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private expect(step: string, timeoutMs: number): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      this.waiters.push({ step, timeoutMs, resolve, reject });
      this.deliver();
    });
  }

  private write(data: string | Buffer): void {
    if (this.failure) throw this.failure;
    this.socket.write(data);
  }

  /** RFC 2645 §4.3: the customer speaks first, with its 220. */
  greeting(): Promise<Reply> {
    return this.expect("the greeting (220)", this.timeouts.greetingMs);
  }

  /** EHLO, falling back to HELO when the customer does not know EHLO (RFC 5321 §3.2). */
  async hello(name: string): Promise<{ reply: Reply; capabilities: Capabilities }> {
    this.write(`EHLO ${name}\r\n`);
    let reply = await this.expect("EHLO", this.timeouts.commandMs);
    if (reply.code >= 500 && reply.code <= 504) {
      this.write(`HELO ${name}\r\n`);
      reply = await this.expect("HELO", this.timeouts.commandMs);
      return { reply, capabilities: { serverName: reply.lines[0]?.split(" ")[0] ?? "", pipelining: false, eightBitMime: false, smtputf8: false, maxSize: 0 } };
    }
    return { reply, capabilities: parseEhlo(reply) };
  }

  /**
   * MAIL, RCPT for each recipient and (when `withData`) DATA. With PIPELINING they leave as one
   * group (RFC 2920 §3.1); without it each waits for the reply before it (and RCPT stops after a
   * refused MAIL). Replies come back in order; a refused MAIL leaves the recipients unanswered.
   */
  async envelope(mailFrom: string, params: string[], recipients: string[], pipelining: boolean): Promise<EnvelopeReplies> {
    const mailLine = `MAIL FROM:<${mailFrom}>${params.length ? " " + params.join(" ") : ""}\r\n`;
    if (pipelining) {
      this.write(mailLine + recipients.map((r) => `RCPT TO:<${r}>\r\n`).join("") + "DATA\r\n");
      const mail = this.expect("MAIL FROM", this.timeouts.commandMs);
      const rcpt = recipients.map(() => this.expect("RCPT TO", this.timeouts.commandMs));
      const data = this.expect("DATA", this.timeouts.dataInitMs);
      // all three kinds of promises must be observed, even when the connection fails midway
      const settled = await Promise.allSettled([mail, ...rcpt, data]);
      const failed = settled.find((s) => s.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const values = settled.map((s) => (s as PromiseFulfilledResult<Reply>).value);
      const mailReply = values[0];
      const dataReply = values[values.length - 1];
      return { mail: mailReply, rcpt: mailReply.code < 400 ? values.slice(1, -1) : recipients.map(() => null), data: dataReply };
    }
    this.write(mailLine);
    const mail = await this.expect("MAIL FROM", this.timeouts.commandMs);
    if (mail.code >= 400) return { mail, rcpt: recipients.map(() => null), data: null };
    const rcpt: Reply[] = [];
    for (const recipient of recipients) {
      this.write(`RCPT TO:<${recipient}>\r\n`);
      rcpt.push(await this.expect("RCPT TO", this.timeouts.commandMs));
    }
    if (!rcpt.some((r) => r.code < 400)) return { mail, rcpt, data: null };
    this.write("DATA\r\n");
    return { mail, rcpt, data: await this.expect("DATA", this.timeouts.dataInitMs) };
  }

  /** Writes a small message (dot-stuffed, up to WRITE_CHUNK) at once, without the final dot. */
  writeSmallBody(raw: Buffer): void {
    this.write(Buffer.concat(dotStuff(raw)));
  }

  /** Writes the message (dot-stuffed), but not the final dot; each block must drain in time. */
  async body(raw: Buffer): Promise<void> {
    let group: Buffer[] = [];
    let size = 0;
    for (const piece of dotStuff(raw)) {
      for (let offset = 0; offset < piece.length; offset += WRITE_CHUNK) {
        const slice = piece.length <= WRITE_CHUNK ? piece : piece.subarray(offset, offset + WRITE_CHUNK);
        group.push(slice);
        size += slice.length;
        if (size >= WRITE_CHUNK) {
          await this.writeBlock(Buffer.concat(group, size));
          group = [];
          size = 0;
        }
      }
    }
    if (size > 0) await this.writeBlock(group.length === 1 ? group[0] : Buffer.concat(group, size));
  }

  private writeBlock(block: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.socket.write(block)) return Promise.resolve();
    // RFC 5321 §4.5.3.2.5: each block must be taken within the data block timeout
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        const error = new ReverseClientError("timeout", `timeout sending message data (${Math.round(this.timeouts.dataBlockMs / 1000)} s)`);
        this.fail(error);
        reject(error);
      }, this.timeouts.dataBlockMs);
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(this.failure ?? new ReverseClientError("connection-lost", "the connection closed"));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.socket.off("drain", onDrain);
        this.socket.off("close", onClose);
      };
      this.socket.on("drain", onDrain);
      this.socket.on("close", onClose);
    });
  }

  /** Runs `write` with the socket corked, so what it writes leaves in one segment. */
  corked<T>(write: () => T): T {
    this.socket.cork();
    try {
      return write();
    } finally {
      this.socket.uncork();
    }
  }

  /** Ends the data with CRLF.CRLF and waits for the customer's verdict on the message. */
  finishData(): Promise<Reply> {
    try {
      this.write(FINAL_DOT);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.expect("the end of data (final dot)", this.timeouts.finalDotMs);
  }

  async reset(): Promise<Reply> {
    this.write("RSET\r\n");
    return this.expect("RSET", this.timeouts.commandMs);
  }

  /** QUIT, a short wait for the 221, then the connection is closed either way. */
  async quit(waitMs = 5000): Promise<void> {
    if (!this.failure) {
      try {
        this.write("QUIT\r\n");
        await this.expect("QUIT", waitMs);
      } catch {
        // closing anyway
      }
    } else if (this.failure.kind === "timeout" && this.socket.writable) {
      // our timeout fired: say QUIT without waiting for an answer, then close
      this.socket.write("QUIT\r\n");
    }
    this.close();
  }

  /** Closes our side; the socket is destroyed if the customer does not close its side soon. */
  close(): void {
    this.fail(new ReverseClientError("connection-lost", "closed by us"));
    if (this.socket.destroyed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Drops the connection at once (shutdown past its grace period). */
  abort(): void {
    this.fail(new ReverseClientError("connection-lost", "aborted by us"));
    this.socket.destroy();
  }
}

/** RFC 5321 §4.1.1.1: the EHLO reply names the server, then one extension keyword per line. */
export function parseEhlo(reply: Reply): Capabilities {
  const keywords = new Map(reply.lines.slice(1).map((line) => {
    const [keyword, ...args] = line.trim().split(/\s+/);
    return [keyword.toUpperCase(), args] as const;
  }));
  const size = Number(keywords.get("SIZE")?.[0]);
  return {
    serverName: reply.lines[0]?.trim().split(/\s+/)[0] ?? "",
    pipelining: keywords.has("PIPELINING"),
    eightBitMime: keywords.has("8BITMIME"),
    smtputf8: keywords.has("SMTPUTF8"),
    maxSize: Number.isInteger(size) && size > 0 ? size : 0,
  };
}
