// The SMTP client side of a turned-around ODMR session (RFC 2645 §4.3): after our 250 to ATRN
// we are the client on the customer's connection (and inside its TLS session, where we stay the
// TLS server). It waits for the customer's 220 before saying anything, applies the RFC 5321
// §4.5.3.2 timeouts step by step (greeting, MAIL/RCPT, DATA initiation, each data block, the
// final dot), pipelines the envelope when the customer offers PIPELINING (RFC 2920), sends BDAT
// when it offers CHUNKING (RFC 3030), reads its LIMITS (RFC 9422), and can hold back a message's
// final dot until the caller is ready (see reverse-session.ts). Everything sent between two
// waits for a reply leaves in one write (see queue()). A general-purpose client (nodemailer's)
// has one idle timeout for all of these and sends the dot itself.
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
  /** CHUNKING (RFC 3030): BDAT instead of DATA */
  chunking: boolean;
  eightBitMime: boolean;
  smtputf8: boolean;
  /** SIZE limit (RFC 1870), 0 when none was announced */
  maxSize: number;
  limits: Limits;
}

/** RFC 9422 LIMITS the customer announced; 0 = no limit given. */
export interface Limits {
  /** transactions per session (MAILMAX) */
  mailMax: number;
  /** recipients per transaction (RCPTMAX) */
  rcptMax: number;
  /** recipient domains per transaction (RCPTDOMAINMAX) */
  rcptDomainMax: number;
}

/** The replies to one envelope; `rcpt` entries are null when MAIL was refused, `data` when DATA was not sent (or BDAT is used). */
export interface EnvelopeReplies {
  mail: Reply;
  rcpt: (Reply | null)[];
  data: Reply | null;
}

/** "protocol": the customer broke the protocol (not a reply, or a reply past our bounds) */
export type ClientErrorKind = "timeout" | "connection-lost" | "protocol";

export class ReverseClientError extends Error {
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
  ) {
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

// The customer's server answers; we must not let it make us hold its answers without limit
// (a reply of endless "220-" lines, or replies nobody asked for), nor let it stretch a reply's
// wait by trickling bytes: each reply has a deadline from the moment it is awaited.
/** at most this many lines in one reply (RFC 5321 §4.2.1 sets no number; real servers send < 30) */
export const MAX_REPLY_LINES = 100;
/** at most this many bytes in one reply, all its lines together */
export const MAX_REPLY_BYTES = 64 * 1024;
/** at most this many complete replies waiting without a command that asked for them */
export const MAX_UNCLAIMED_REPLIES = 100;

export class ReverseSmtpClient {
  private buffer: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  /** bytes of the reply being read so far (its complete lines) */
  private replyBytes = 0;
  private replies: Reply[] = [];
  private waiters: Waiter[] = [];
  /** a reply was read after the latest write we queued (see replySinceWrite) */
  private readSinceWrite = false;
  private replyWatchers: { resolve(): void; reject(error: Error): void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private failure: ReverseClientError | null = null;
  /** what is to leave in the next write (see queue()) */
  private out: Buffer[] = [];
  private flushScheduled = false;
  /** TCP_NODELAY is off: the last record of the latest write waits for the ACK of the one before it (see queue()) */
  private holdingLastLine = false;

  private readonly listeners = {
    data: (chunk: Buffer) => this.onData(chunk),
    end: () => this.fail(new ReverseClientError("connection-lost", "the customer closed the connection")),
    close: () => this.fail(new ReverseClientError("connection-lost", "the connection closed")),
    error: (error: Error) => this.fail(new ReverseClientError("connection-lost", `connection error: ${error.message}`)),
  };

  /**
   * @param lastLineApart the last line of every write goes in a TLS record of its own (see flush())
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly timeouts: ReverseTimeouts,
    private readonly lastLineApart = false,
  ) {
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
    this.flush();
    this.socket.pause();
    this.socket.off("data", this.listeners.data);
    this.socket.off("end", this.listeners.end);
    this.socket.off("close", this.listeners.close);
    this.socket.off("error", this.listeners.error);
  }

  /** RFC 3207 §4: STARTTLS; after a 220 the socket is let go of (detach) for the TLS handshake. */
  async startTls(): Promise<Reply> {
    this.queue("STARTTLS\r\n");
    const reply = await this.expect("STARTTLS", this.timeouts.commandMs);
    if (reply.code === 220) this.detach();
    return reply;
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let start = 0;
    let nl: number;
    while (!this.failure && (nl = this.buffer.indexOf(0x0a, start)) >= 0) {
      const end = nl > start && this.buffer[nl - 1] === 0x0d ? nl - 1 : nl;
      // read as latin1 so a chunk boundary cannot split a character; replies may carry UTF-8 (RFC 6531)
      this.onLine(this.buffer.toString("latin1", start, end), nl + 1 - start);
      start = nl + 1;
    }
    this.buffer = this.buffer.subarray(start);
    if (!this.failure && this.replyBytes + this.buffer.length > MAX_REPLY_BYTES) {
      this.protocolError(`the customer sent a reply longer than ${MAX_REPLY_BYTES} bytes`);
    }
  }

  private onLine(line: string, size: number): void {
    const match = /^(\d{3})([ -]?)(.*)$/.exec(line);
    if (!match) return this.protocolError(`not an SMTP reply: ${JSON.stringify(line.slice(0, 100))}`);
    this.lines.push(line);
    this.replyBytes += size;
    if (match[2] === "-") {
      // RFC 5321 §4.2.1: more lines follow, but not without end
      if (this.lines.length >= MAX_REPLY_LINES) this.protocolError(`the customer sent a reply of more than ${MAX_REPLY_LINES} lines`);
      else if (this.replyBytes > MAX_REPLY_BYTES) this.protocolError(`the customer sent a reply longer than ${MAX_REPLY_BYTES} bytes`);
      return;
    }
    const code = Number(match[1]);
    const lines = this.lines.map((l) => Buffer.from(l.slice(4), "latin1").toString("utf8"));
    this.lines = [];
    this.replyBytes = 0;
    this.replies.push({ code, text: `${code} ${lines.join(" ")}`.trimEnd(), lines });
    if (this.replies.length > this.waiters.length + MAX_UNCLAIMED_REPLIES) {
      return this.protocolError(`the customer sent more than ${MAX_UNCLAIMED_REPLIES} replies nobody asked for`);
    }
    this.readSinceWrite = true;
    for (const watcher of this.replyWatchers.splice(0)) watcher.resolve();
    this.deliver();
  }

  /**
   * Resolves once a reply (whichever command it answers) has been read after the latest write
   * we queued, at once if one has; rejects when the connection fails first.
   */
  replySinceWrite(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.readSinceWrite) return Promise.resolve();
    return new Promise((resolve, reject) => this.replyWatchers.push({ resolve, reject }));
  }

  /** how many replies to commands already sent are still to come */
  get repliesAwaited(): number {
    return this.waiters.length;
  }

  /** The customer broke the protocol: fail what waits, stop reading and drop the connection. */
  private protocolError(message: string): void {
    this.fail(new ReverseClientError("protocol", message));
    this.buffer = Buffer.alloc(0);
    this.lines = [];
    this.replies = [];
    this.socket.destroy();
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

  /**
   * Only the reply at the head of the queue is timed, from the moment it is the one awaited, and
   * bytes that arrive do not restart the timer: a reply trickled byte by byte ends at its deadline.
   */
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
    this.out = [];
    this.clearTimer();
    for (const waiter of [...this.waiters.splice(0), ...this.replyWatchers.splice(0)]) waiter.reject(error);
  }

  private expect(step: string, timeoutMs: number): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      this.waiters.push({ step, timeoutMs, resolve, reject });
      this.deliver();
    });
  }

  /**
   * Everything we send between two waits for the customer leaves as ONE write. Commands queued
   * in the same tick are written together just before the event loop turns (which is before any
   * reply can be read): so the final dot and the next envelope, or MAIL/RCPT/BDAT and the chunk,
   * reach the peer as one segment. A peer or relay that forwards what it reads without
   * TCP_NODELAY would otherwise hold our second write back by Nagle until its delayed ACK
   * (about 40 ms, every message).
   *
   * With `lastLineApart` (a customer relaying a TLS session, see reverse-session.ts) the last
   * line of each such write goes in a TLS record of its own, and Nagle (turned on for that record
   * alone) holds it until the customer's side acknowledges the first one. A relay that writes
   * each record on as it decrypts it, without TCP_NODELAY, gives its MTA the two records apart,
   * so the MTA answers in two bursts and the relay holds the second until we acknowledge the
   * first. Sent at once, our last record would be gone before that first burst came, and our ACK
   * of it would be delayed (about 40 ms) every time; held, it leaves when the relay's first
   * burst (which carries the relay's ACK) arrives, and carries our ACK of it. fetchmail waits no longer:
   * its kernel acknowledges our first record within the same delayed-ACK time in which its own
   * line-by-line writes (without TCP_NODELAY) wait for its MTA's ACK.
   */
  private queue(data: string | Buffer): void {
    if (this.failure) throw this.failure;
    this.readSinceWrite = false;
    this.out.push(typeof data === "string" ? Buffer.from(data) : data);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0 || this.failure) return;
    const data = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out);
    this.out = [];
    this.noDelay();
    // two writes on a TLS socket are two records; the second one is a single line
    const lastLine = this.lastLineApart ? data.lastIndexOf(0x0a, data.length - 2) + 1 : 0;
    if (lastLine > 0) {
      // the first record is handed to the kernel now, the second after it (the TLS socket writes
      // one at a time): Nagle then holds the second until the first is acknowledged
      this.socket.write(data.subarray(0, lastLine));
      this.socket.setNoDelay(false);
      this.holdingLastLine = true;
    }
    this.socket.write(lastLine > 0 ? data.subarray(lastLine) : data);
  }

  /**
   * TCP_NODELAY again before the next write, so that no part of it (the end of a body block) waits
   * for an ACK. The reply this write waited for has acknowledged a held record; one still held
   * would leave at once.
   */
  private noDelay(): void {
    if (!this.holdingLastLine) return;
    this.holdingLastLine = false;
    this.socket.setNoDelay(true);
  }

  /** RFC 2645 §4.3: the customer speaks first, with its 220. */
  greeting(): Promise<Reply> {
    return this.expect("the greeting (220)", this.timeouts.greetingMs);
  }

  /** EHLO, falling back to HELO when the customer does not know EHLO (RFC 5321 §3.2). */
  async hello(name: string): Promise<{ reply: Reply; capabilities: Capabilities }> {
    this.queue(`EHLO ${name}\r\n`);
    let reply = await this.expect("EHLO", this.timeouts.commandMs);
    if (reply.code >= 500 && reply.code <= 504) {
      this.queue(`HELO ${name}\r\n`);
      reply = await this.expect("HELO", this.timeouts.commandMs);
      return { reply, capabilities: { ...parseEhlo({ ...reply, lines: reply.lines.slice(0, 1) }) } };
    }
    return { reply, capabilities: parseEhlo(reply) };
  }

  /**
   * MAIL, RCPT for each recipient and (when `withData`) DATA. With PIPELINING they are queued as
   * one group (RFC 2920 §3.1) and leave with whatever else is queued in the same tick (a final
   * dot before them, a BDAT after them); without it each waits for the reply before it (and RCPT
   * stops after a refused MAIL). A refused MAIL leaves the recipients unanswered.
   */
  async envelope(mailFrom: string, params: string[], recipients: string[], pipelining: boolean, withData: boolean): Promise<EnvelopeReplies> {
    const mailLine = `MAIL FROM:<${mailFrom}>${params.length ? " " + params.join(" ") : ""}\r\n`;
    if (pipelining) {
      this.queue(mailLine + recipients.map((r) => `RCPT TO:<${r}>\r\n`).join("") + (withData ? "DATA\r\n" : ""));
      const mail = this.expect("MAIL FROM", this.timeouts.commandMs);
      const rcpt = recipients.map(() => this.expect("RCPT TO", this.timeouts.commandMs));
      const data = withData ? [this.expect("DATA", this.timeouts.dataInitMs)] : [];
      // every promise must be observed, even when the connection fails midway
      const values = await settleAll([mail, ...rcpt, ...data]);
      const mailReply = values[0];
      return {
        mail: mailReply,
        rcpt: mailReply.code < 400 ? values.slice(1, 1 + recipients.length) : recipients.map(() => null),
        data: withData ? values[values.length - 1] : null,
      };
    }
    this.queue(mailLine);
    const mail = await this.expect("MAIL FROM", this.timeouts.commandMs);
    if (mail.code >= 400) return { mail, rcpt: recipients.map(() => null), data: null };
    const rcpt: Reply[] = [];
    for (const recipient of recipients) {
      this.queue(`RCPT TO:<${recipient}>\r\n`);
      rcpt.push(await this.expect("RCPT TO", this.timeouts.commandMs));
    }
    if (!withData || !rcpt.some((r) => r.code < 400)) return { mail, rcpt, data: null };
    this.queue("DATA\r\n");
    return { mail, rcpt, data: await this.expect("DATA", this.timeouts.dataInitMs) };
  }

  /**
   * Writes all of the dot-stuffed message but its last block, in full blocks, each of which must
   * drain in time; returns that last block (at most WRITE_CHUNK bytes), which is to leave in one
   * write with the final dot (finishData).
   */
  async bodyHead(raw: Buffer): Promise<Buffer> {
    const stuffed = Buffer.concat(dotStuff(raw));
    const tailStart = stuffed.length - (stuffed.length % WRITE_CHUNK || Math.min(WRITE_CHUNK, stuffed.length));
    for (let offset = 0; offset < tailStart; offset += WRITE_CHUNK) {
      this.queue(stuffed.subarray(offset, offset + WRITE_CHUNK));
      await this.flushBlock();
    }
    return stuffed.subarray(tailStart);
  }

  /**
   * Ends the data: the last block of the body, then CRLF.CRLF, queued to leave in one write
   * (with the next envelope, when one is queued in the same tick). Resolves to the verdict on
   * the message.
   */
  finishData(tail: Buffer): Promise<Reply> {
    try {
      if (tail.length) this.queue(tail);
      this.queue(FINAL_DOT);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.expect("the end of data (final dot)", this.timeouts.finalDotMs);
  }

  /**
   * RFC 3030 §2: the message as BDAT chunks of WRITE_CHUNK, the last one `BDAT <n> LAST`, not
   * dot-stuffed. The first chunk is queued in this tick (after an envelope queued before it).
   * With PIPELINING the chunks do not wait for each other's replies; without it each waits, and
   * a refused chunk ends the transfer. Resolves once the last chunk is queued (so that another
   * transaction may follow it on the wire) to the verdict: the first refusal, else LAST's reply.
   */
  async bdat(raw: Buffer, pipelining: boolean): Promise<{ verdict: Promise<Reply> }> {
    const replies: Promise<Reply>[] = [];
    let offset = 0;
    for (;;) {
      const size = Math.min(WRITE_CHUNK, raw.length - offset);
      const last = offset + size >= raw.length;
      this.queue(`BDAT ${size}${last ? " LAST" : ""}\r\n`);
      this.queue(raw.subarray(offset, offset + size));
      const reply = this.expect(last ? "BDAT LAST" : "BDAT", last ? this.timeouts.finalDotMs : this.timeouts.dataBlockMs);
      reply.catch(() => undefined); // observed by settleAll below
      replies.push(reply);
      if (last) break;
      offset += size;
      if (pipelining) {
        await this.flushBlock();
      } else {
        this.flush();
        const answer = await reply;
        // RFC 3030 §2: after a refused chunk no further chunk may be sent
        if (answer.code >= 400) return { verdict: reply };
      }
    }
    const verdict = settleAll(replies).then((values) => values.find((r) => r.code >= 400) ?? values[values.length - 1]);
    verdict.catch(() => undefined); // awaited by the caller
    return { verdict };
  }

  /** Writes what is queued; the write must drain within the data block timeout. */
  private flushBlock(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const data = Buffer.concat(this.out);
    this.out = [];
    this.flushScheduled = false;
    this.noDelay();
    if (this.socket.write(data)) return Promise.resolve();
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

  /** RSET, queued to leave with whatever else this tick sends (RFC 2920 §3.1 allows it anywhere in a group). */
  reset(): Promise<Reply> {
    return this.command("RSET");
  }

  /** NOOP (RFC 5321 §4.1.1.9), queued the same way (RFC 2920 §3.1 lets it end a group). */
  noop(): Promise<Reply> {
    return this.command("NOOP");
  }

  /** A command without arguments, queued to leave with whatever else this tick sends; resolves to its reply. */
  private command(verb: string): Promise<Reply> {
    try {
      this.queue(`${verb}\r\n`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.expect(verb, this.timeouts.commandMs);
  }

  /** QUIT, a short wait for the 221, then the connection is closed either way. */
  async quit(waitMs = 5000): Promise<void> {
    if (!this.failure) {
      try {
        this.queue("QUIT\r\n");
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

/** Waits for every promise (none left unobserved); the first rejection is thrown. */
async function settleAll(promises: Promise<Reply>[]): Promise<Reply[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<Reply>).value);
}

/** A LIMITS value (RFC 9422 §4.1): a positive integer, 0 when absent or malformed. */
function limit(params: Map<string, string>, name: string): number {
  const value = Number(params.get(name));
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * RFC 5321 §4.1.1.1: the EHLO reply names the server, then one extension keyword per line.
 * Blank lines (smtp-sink ends its reply with "250 ") carry nothing and are skipped.
 */
export function parseEhlo(reply: Reply): Capabilities {
  const keywords = new Map<string, string[]>();
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...args] = line.trim().split(/\s+/);
    if (keyword) keywords.set(keyword.toUpperCase(), args);
  }
  const size = Number(keywords.get("SIZE")?.[0]);
  // RFC 9422 §4: LIMITS name=value pairs, names case-insensitive, unknown names ignored
  const limits = new Map(
    (keywords.get("LIMITS") ?? []).map((pair) => {
      const eq = pair.indexOf("=");
      return [pair.slice(0, eq < 0 ? pair.length : eq).toUpperCase(), eq < 0 ? "" : pair.slice(eq + 1)] as const;
    }),
  );
  return {
    serverName: reply.lines[0]?.trim().split(/\s+/)[0] ?? "",
    pipelining: keywords.has("PIPELINING"),
    chunking: keywords.has("CHUNKING"),
    eightBitMime: keywords.has("8BITMIME"),
    smtputf8: keywords.has("SMTPUTF8"),
    maxSize: Number.isInteger(size) && size > 0 ? size : 0,
    limits: { mailMax: limit(limits, "MAILMAX"), rcptMax: limit(limits, "RCPTMAX"), rcptDomainMax: limit(limits, "RCPTDOMAINMAX") },
  };
}
