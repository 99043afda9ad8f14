// A scripted ODMR customer for what fetchmail cannot do: STARTTLS, PLAIN, bare or pipelined ATRN,
// closing or going silent after 250, several sessions at once. It speaks the provider side of
// the protocol line by line and, after a 250 to ATRN, hands its socket to a real SMTP receiver.
import net from "node:net";
import tls from "node:tls";
import type { SmtpReceiver } from "./smtp-receiver.ts";
import { takeReply, type SmtpReply } from "./smtp-reply.ts";
import { cramMd5Digest } from "../../lib/auth/cram-md5.ts";

export class OdmrCustomer {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(private socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    this.attach();
  }

  /** `localAddress` (plain connections only): another 127.x address to come from. */
  static async connect(port: number, options: { tls?: boolean; localAddress?: string } = {}): Promise<OdmrCustomer> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s: net.Socket = options.tls
        ? tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false }, () => resolve(s))
        : net.connect({ port, host: "127.0.0.1", localAddress: options.localAddress }, () => resolve(s));
      s.once("error", reject);
    });
    socket.on("error", () => undefined);
    const customer = new OdmrCustomer(socket);
    const greeting = await customer.reply();
    if (greeting.code !== 220) throw new Error(`unexpected greeting: ${greeting.code} ${greeting.text}`);
    return customer;
  }

  private onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.waiting?.();
  };

  private onEnd = () => {
    this.ended = true;
    this.waiting?.();
  };

  private attach(): void {
    this.socket.on("data", this.onData);
    this.socket.on("end", this.onEnd);
    this.socket.on("close", this.onEnd);
  }

  private detach(): void {
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
  }

  /** Reads one (possibly multi-line) reply. */
  async reply(timeoutMs = 15_000): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const taken = takeReply(this.buffer, "utf8");
      if (taken) {
        this.buffer = taken.rest;
        return taken.reply;
      }
      if (this.ended) throw new Error(`connection closed while waiting for a reply (${this.buffer.toString()})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a reply");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          this.waiting = null;
          resolve();
        };
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  ehlo(name = "customer.test.example"): Promise<SmtpReply> {
    return this.command(`EHLO ${name}`);
  }

  /** RFC 3207: STARTTLS, then the TLS handshake as client. */
  async startTls(): Promise<SmtpReply> {
    const reply = await this.command("STARTTLS");
    if (reply.code !== 220) return reply;
    this.detach();
    const plain = this.socket;
    this.socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const secure = tls.connect({ socket: plain, rejectUnauthorized: false }, () => resolve(secure));
      secure.once("error", reject);
    });
    this.socket.on("error", () => undefined);
    this.attach();
    return reply;
  }

  /** RFC 2195 CRAM-MD5. */
  async authCramMd5(user: string, secret: string): Promise<SmtpReply> {
    const challenge = await this.command("AUTH CRAM-MD5");
    if (challenge.code !== 334) return challenge;
    const decoded = Buffer.from(challenge.text, "base64").toString("utf8");
    return this.command(Buffer.from(`${user} ${cramMd5Digest(secret, decoded)}`).toString("base64"));
  }

  /** RFC 4616 PLAIN with an initial response. */
  authPlain(user: string, secret: string): Promise<SmtpReply> {
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${secret}`).toString("base64")}`);
  }

  atrn(domains?: string[]): Promise<SmtpReply> {
    return this.command(domains && domains.length ? `ATRN ${domains.join(",")}` : "ATRN");
  }

  /**
   * After 250: become the SMTP server on this connection. The receiver greets with 220 and takes
   * the provider's mail; resolves when the provider has closed the connection.
   */
  async serveWith(receiver: SmtpReceiver): Promise<void> {
    this.detach();
    if (this.buffer.length) this.socket.unshift(this.buffer);
    this.buffer = Buffer.alloc(0);
    receiver.serve(this.socket);
    await this.closed;
  }

  /** After 250: say nothing and wait for the provider to give up. */
  async staySilent(): Promise<number> {
    const start = Date.now();
    await this.closed;
    return Date.now() - start;
  }

  /** Everything the provider sends until it closes. */
  async drain(): Promise<string> {
    await this.closed;
    return this.buffer.toString("utf8");
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Connects, says EHLO and authenticates with CRAM-MD5; throws unless each step succeeds. */
export async function loggedInCustomer(
  port: number,
  login: string,
  secret: string,
  options: { tls?: boolean; localAddress?: string } = {},
): Promise<OdmrCustomer> {
  const customer = await OdmrCustomer.connect(port, options);
  const ehlo = await customer.ehlo();
  if (ehlo.code !== 250) throw new Error(`EHLO: ${ehlo.code} ${ehlo.text}`);
  const auth = await customer.authCramMd5(login, secret);
  if (auth.code !== 235) throw new Error(`AUTH: ${auth.code} ${auth.text}`);
  return customer;
}
