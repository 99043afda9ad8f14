// A customer's mail server for the tests: a real smtp-server that records what it is given and
// answers RCPT and the final dot as a test tells it to. It listens on a port (for fetchmail's
// smtphost) and can also serve a socket it is handed (a scripted customer after its ATRN's 250).
import net from "node:net";
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from "smtp-server";
import { MessageWaiters } from "./message-waiters.ts";

export interface ReceivedMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  /** the message came over TLS (STARTTLS) */
  secure: boolean;
}

/** A reply that refuses, e.g. { code: 550, text: "5.1.1 no such user" }. */
export interface Refusal {
  code: number;
  text: string;
}

export interface ReceiverPolicy {
  /** refuse a recipient (RCPT TO) */
  rcpt?: (address: string) => Refusal | undefined;
  /** refuse a message after its final dot */
  data?: (message: ReceivedMessage) => Refusal | undefined;
  /** called when a message's data is complete; the final reply waits for the returned promise */
  beforeReply?: (message: ReceivedMessage) => Promise<void> | void;
}

export interface SmtpReceiver {
  port: number;
  messages: ReceivedMessage[];
  /** EHLO names of the clients that greeted */
  clients: string[];
  serve(socket: net.Socket): void;
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

function refusal(r: Refusal): Error {
  return Object.assign(new Error(r.text), { responseCode: r.code });
}

/** `tls`: offer STARTTLS with this key and certificate (an ETRN target that encrypts). */
export async function startSmtpReceiver(
  policy: ReceiverPolicy = {},
  options: { listen?: boolean; name?: string; tls?: { key: Buffer; cert: Buffer } } = {},
): Promise<SmtpReceiver> {
  const messages: ReceivedMessage[] = [];
  const clients: string[] = [];
  const waiters = new MessageWaiters(messages);
  const server = new SMTPServer({
    name: options.name ?? "customer.test.example",
    authOptional: true,
    disabledCommands: options.tls ? ["AUTH"] : ["AUTH", "STARTTLS"],
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    disableReverseLookup: true,
    logger: false,
    size: 50 * 1024 * 1024,
    onMailFrom(_address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      if (session.hostNameAppearsAs) clients.push(session.hostNameAppearsAs);
      callback();
    },
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const refused = policy.rcpt?.(address.address);
      callback(refused ? refusal(refused) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", async () => {
        const envelope = session.envelope;
        const message: ReceivedMessage = {
          mailFrom: envelope.mailFrom ? envelope.mailFrom.address : "",
          rcptTo: envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
        };
        await policy.beforeReply?.(message);
        const refused = policy.data?.(message);
        if (refused) return callback(refusal(refused));
        messages.push(message);
        waiters.arrived();
        callback();
      });
    },
  });
  let port = 0;
  if (options.listen !== false) {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    port = (server.server.address() as net.AddressInfo).port;
  }
  return {
    port,
    messages,
    clients,
    serve(socket) {
      server.connect(socket, {});
    },
    waitForMessages: (count, timeoutMs) => waiters.waitFor(count, timeoutMs),
    close() {
      return new Promise<void>((resolve) => {
        server.options.closeTimeout = 100;
        server.close(() => resolve());
      });
    },
  };
}
