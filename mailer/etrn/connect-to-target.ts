// The outbound connection of an ETRN run (RFC 1985: delivery goes over a new connection to the
// customer's server): TCP to the domain's target, its 220, then STARTTLS (RFC 3207) as the
// domain's policy says: "opportunistic" uses TLS when the target offers it (RFC 7435), and falls
// back to a fresh plain connection if the handshake fails; "required" keeps the mail held unless
// TLS is up; "none" never asks. The certificate is not checked: customers' own servers commonly
// have self-signed certificates, and the policy is about encryption on the wire.
// The connection is handed on greeted, for the delivery loop (ReverseSession) to say EHLO.
import net from "node:net";
import tls from "node:tls";
import type { EtrnTarget } from "../../lib/etrn/etrn-target.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { ReverseClientError, ReverseSmtpClient, type Reply, type ReverseTimeouts } from "../delivery/reverse-smtp-client.ts";

/** Why the target could not be given mail; the text is what staff see on the held deliveries. */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TargetError";
  }
}

export interface TargetConnection {
  socket: net.Socket;
  tls: boolean;
}

export interface ConnectOptions {
  /** our name in EHLO */
  hostname: string;
  connectTimeoutMs: number;
  timeouts: ReverseTimeouts;
  log: Logger;
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TargetError(`could not connect to ${host}:${port}: no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      // once the reading client lets go (STARTTLS), a late error must not go unheard
      socket.on("error", () => undefined);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new TargetError(`could not connect to ${host}:${port}: ${error.code ?? error.message}`));
    };
    socket.once("error", onError);
  });
}

function handshake(socket: net.Socket, host: string, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false, minVersion: "TLSv1.2" });
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new TargetError(`TLS handshake with ${host} timed out`));
    }, timeoutMs);
    secure.once("secureConnect", () => {
      clearTimeout(timer);
      secure.off("error", onError);
      secure.on("error", () => undefined);
      resolve(secure);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      secure.destroy();
      reject(new TargetError(`TLS handshake with ${host} failed: ${error.message}`));
    };
    secure.once("error", onError);
  });
}

/** RFC 3207 §4: STARTTLS is offered as an EHLO keyword. */
function offersStartTls(ehlo: Reply): boolean {
  return ehlo.lines.slice(1).some((line) => line.trim().toUpperCase() === "STARTTLS");
}

export async function connectToTarget(target: EtrnTarget, options: ConnectOptions): Promise<TargetConnection> {
  const where = `${target.host}:${target.port}`;
  const socket = await openSocket(target.host, target.port, options.connectTimeoutMs);
  const client = new ReverseSmtpClient(socket, options.timeouts);
  let step = "the greeting";
  try {
    const greeting = await client.greeting();
    if (greeting.code !== 220) throw new TargetError(`${where} refused the connection: ${greeting.text}`);
    if (target.tls === "none") {
      client.detach();
      return { socket, tls: false };
    }
    step = "EHLO";
    const hello = await client.hello(options.hostname);
    if (hello.reply.code !== 250) throw new TargetError(`${where} refused EHLO: ${hello.reply.text}`);
    if (!offersStartTls(hello.reply)) {
      if (target.tls === "required") throw new TargetError(`TLS is required for this domain, but ${where} does not offer STARTTLS`);
      client.detach();
      return { socket, tls: false };
    }
    step = "STARTTLS";
    const reply = await client.startTls();
    if (reply.code !== 220) {
      if (target.tls === "required") throw new TargetError(`TLS is required for this domain, but ${where} refused STARTTLS: ${reply.text}`);
      client.detach();
      return { socket, tls: false };
    }
  } catch (error) {
    if (error instanceof TargetError) await client.quit();
    else client.close();
    if (error instanceof ReverseClientError) throw new TargetError(`${where}: ${error.message} (at ${step})`);
    throw error;
  }
  try {
    return { socket: await handshake(socket, target.host, options.timeouts.commandMs), tls: true };
  } catch (error) {
    socket.destroy();
    if (target.tls === "required") throw error;
    // RFC 7435 §3: opportunistic TLS falls back to plain text rather than not delivering at all
    options.log.warn({ code: "ETRN_TLS_FAILED", target: where, err: (error as Error).message }, "TLS failed; delivering without it");
    return connectToTarget({ ...target, tls: "none" }, options);
  }
}
