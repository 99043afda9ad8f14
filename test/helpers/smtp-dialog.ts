// A bare SMTP client for tests that need to see every reply exactly as the server wrote it, and to
// send what no well-behaved client would (bare LF, NUL bytes, over-long lines, commands out of order).
import net from "node:net";
import tls from "node:tls";
import { takeReply, type SmtpReply } from "./smtp-reply.ts";
import { cramMd5Digest } from "../../lib/auth/cram-md5.ts";

export class SmtpDialog {
  private socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private replies: SmtpReply[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  greeting!: SmtpReply;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  static async open(port: number, options: { localAddress?: string } = {}): Promise<SmtpDialog> {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: options.localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const dialog = new SmtpDialog(socket);
    dialog.greeting = await dialog.reply();
    return dialog;
  }

  private attach(socket: net.Socket): void {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
      this.notify();
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (let taken = takeReply(this.buffer); taken; taken = takeReply(this.buffer)) {
      this.replies.push(taken.reply);
      this.buffer = taken.rest;
    }
    this.notify();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The next complete reply; rejects if the connection closes first or nothing comes within timeoutMs. */
  reply(timeoutMs = 15_000): Promise<SmtpReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no SMTP reply in time")), timeoutMs);
      const check = () => {
        const next = this.replies.shift();
        if (next) {
          clearTimeout(timer);
          resolve(next);
        } else if (this.closed) {
          clearTimeout(timer);
          reject(new Error(`connection closed without a reply (partial: ${JSON.stringify(this.buffer.toString("latin1"))})`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === "string" ? Buffer.from(data, "utf8") : data);
  }

  /** Sends one command line (CRLF added) and returns its reply. */
  async command(line: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** MAIL, RCPT…, DATA and the message (dot-stuffed here), each reply checked by the caller from the result. */
  async send(
    from: string,
    to: string[],
    message: string | Buffer,
    mailParams = "",
  ): Promise<{ mail: SmtpReply; rcpt: SmtpReply[]; data?: SmtpReply; final?: SmtpReply }> {
    const mail = await this.command(`MAIL FROM:<${from}>${mailParams}`);
    const rcpt: SmtpReply[] = [];
    for (const r of to) rcpt.push(await this.command(`RCPT TO:<${r}>`));
    const data = await this.command("DATA");
    if (data.code !== 354) return { mail, rcpt, data };
    this.write(dotStuff(typeof message === "string" ? Buffer.from(message, "utf8") : message));
    this.write(".\r\n");
    return { mail, rcpt, data, final: await this.reply() };
  }

  /** STARTTLS, then the TLS handshake; `pipelined` is written in clear right behind the command, as an attacker would. */
  async startTls(pipelined = ""): Promise<tls.TLSSocket> {
    this.write(`STARTTLS\r\n${pipelined}`);
    const reply = await this.reply();
    if (reply.code !== 220) throw new Error(`STARTTLS refused: ${reply.last}`);
    this.socket.removeAllListeners("data");
    this.socket.removeAllListeners("close");
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", resolve);
      secure.once("error", reject);
    });
    this.socket = secure;
    this.attach(secure);
    return secure;
  }

  /** RFC 2195 CRAM-MD5 (AUTH on the MX, for ETRN); returns the final reply. */
  async authCramMd5(user: string, secret: string): Promise<SmtpReply> {
    const challenge = await this.command("AUTH CRAM-MD5");
    if (challenge.code !== 334) return challenge;
    const decoded = Buffer.from(challenge.lines[0], "base64").toString("utf8");
    return this.command(Buffer.from(`${user} ${cramMd5Digest(secret, decoded)}`).toString("base64"));
  }

  /** Resolves when the server has closed the connection. */
  whenClosed(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("connection still open")), timeoutMs);
      const check = () => {
        if (this.closed) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** RFC 5321 §4.5.2: a line starting with "." gets one more; the message must end with CRLF. */
function dotStuff(message: Buffer): Buffer {
  let text = message.toString("latin1");
  if (!text.endsWith("\r\n")) text += "\r\n";
  return Buffer.from(text.replace(/^\./gm, ".."), "latin1");
}
