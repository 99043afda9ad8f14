// The contract between the listeners and smtp-server's private members: each member that
// mailer/smtp-server-adapter/ relies upon is checked here, against the installed smtp-server, by
// a probe server built on the adapter itself (real sockets on loopback, the real library). An
// upgrade that renames or changes one fails here rather than inside an MX or ODMR session; the
// mailer refuses to start on a version not in TESTED_SMTP_SERVER_VERSIONS in the first place.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type tls from "node:tls";
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { SMTPConnection } from "smtp-server/lib/smtp-connection.js";
import { SMTPStream } from "smtp-server/lib/smtp-stream.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config/config.ts";
import { MailharborError } from "../../lib/errors.ts";
import { logger } from "../../lib/log/logger.ts";
import { loadTls, type TlsMaterial } from "../../lib/tls/load-tls.ts";
import { AdaptedConnection, type LineProblem, type SMTPConnectionOptions } from "../../mailer/smtp-server-adapter/adapted-connection.ts";
import { AdaptedServer } from "../../mailer/smtp-server-adapter/adapted-server.ts";
import { LineCheckedStream } from "../../mailer/smtp-server-adapter/line-checked-stream.ts";
import { TESTED_SMTP_SERVER_VERSIONS, checkSmtpServerVersion, installedSmtpServerVersion } from "../../mailer/smtp-server-adapter/smtp-server-version.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

/** A connection that records what the adapter's hooks saw, and offers X-verbs to drive its helpers. */
class ProbeConnection extends AdaptedConnection<ProbeServer> {
  readonly events: string[] = [];

  constructor(server: ProbeServer, socket: net.Socket | tls.TLSSocket, options: SMTPConnectionOptions | null | undefined) {
    super(server, socket, options);
    server.bySession.set(this.session, this);
  }

  protected override interceptCommand(command: Buffer, callback: () => void): boolean {
    const line = command.toString("latin1");
    this.events.push(`command ${line} prompt=${this.atCommandPrompt}`);
    if (line !== "XINTERCEPT") return false;
    this.send(250, "intercepted", false);
    this.whenWritable(callback);
    return true;
  }

  protected override addressParsed(name: string, _command: Buffer | string, parsed: SMTPServerAddress): void {
    this.events.push(`parsed ${name.toUpperCase()} ${parsed.address}`);
  }

  protected override tlsEstablished(wasAuthenticated: boolean): void {
    this.events.push(`tls wasAuthenticated=${wasAuthenticated}`);
  }

  protected override onClosed(): void {
    this.events.push("closed");
  }

  protected override onIdleTimeout(): void {
    this.events.push("idle timeout");
  }

  override handler_DATA(command: Buffer, callback: () => void): void {
    super.handler_DATA(command, callback);
    this.events.push(`data stream readable=${typeof this.dataStream?.on === "function"}`);
  }

  /** As OdmrConnection's EHLO: sets the connection's EHLO name, then resetSession puts it in the session. */
  handler_XRESET(_command: Buffer, callback: () => void): void {
    this.hostNameAppearsAs = "set.by.handler";
    this.resetSession();
    this.send(250, `envelope=${JSON.stringify(this.session.envelope.mailFrom)} hello=${this.session.hostNameAppearsAs}`, false);
    callback();
  }

  handler_XCOUNTERS(_command: Buffer, callback: () => void): void {
    this.resetCommandCounters();
    this.send(250, "counters reset", false);
    callback();
  }

  /**
   * Hands the socket over as OdmrConnection does after ATRN: the handler calls back first and
   * decides later (there, after a database query), then the test owns the socket.
   */
  handler_XDETACH(_command: Buffer, callback: () => void): void {
    callback();
    setImmediate(() => {
      const early = this.stopReading();
      this.events.push(`early=${early}`);
      if (early) return this.send(550, "early input", false);
      const socket = this.detachSocket();
      this.server.detached.push(socket);
      socket.write("299 detached\r\n");
    });
  }

  /** MxConnection's pregreet test: `greet` may wait, and data from the socket can be seen first. */
  protected override beforeGreeting(greet: () => void): void {
    if (!this.server.greetingDelayMs) return greet();
    const talkedFirst = () => {
      this.events.push("talked first");
      clearTimeout(timer);
      this.close();
    };
    const timer = setTimeout(() => {
      this.socket.off("data", talkedFirst);
      greet();
    }, this.server.greetingDelayMs);
    this.socket.prependOnceListener("data", talkedFirst);
  }
}

/** The same with LineCheckedStream as its parser (as MxConnection). */
class LineProbeConnection extends ProbeConnection {
  protected override onLineProblem(problem: LineProblem): void {
    this.events.push(`line problem ${problem}`);
    this.send(500, `5.5.2 ${problem}`, false);
  }
}

class ProbeServer extends AdaptedServer {
  readonly bySession = new WeakMap<SMTPServerSession, ProbeConnection>();
  readonly built: ProbeConnection[] = [];
  readonly detached: net.Socket[] = [];
  greetingDelayMs = 0;
  /** the next socket smtp-server hands over is refused (createConnection answers null) */
  refuseNext = false;
  /** set: onData holds its answer until this resolves */
  holdData: Promise<void> | null = null;

  constructor(
    options: SMTPServerOptions,
    private readonly lineChecked = false,
  ) {
    super({ logger: false, disableReverseLookup: true, authOptional: true, ...options });
    // a client that goes away mid-handshake is reported here; the tests look at the connections
    this.on("error", () => undefined);
  }

  protected createConnection(socket: net.Socket | tls.TLSSocket, options: SMTPConnectionOptions | null | undefined): ProbeConnection | null {
    if (this.refuseNext) {
      this.refuseNext = false;
      socket.destroy();
      return null;
    }
    const connection = this.lineChecked ? new LineProbeConnection(this, socket, options) : new ProbeConnection(this, socket, options);
    this.built.push(connection);
    return connection;
  }

  useAdmission(admit: (socket: net.Socket) => boolean): void {
    this.admitFirst(admit);
  }

  topmost(socket: net.Socket): net.Socket {
    return this.topmostSocket(socket);
  }

  openList(): ProbeConnection[] {
    return this.openConnections<ProbeConnection>();
  }

  onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void {
    const connection = this.bySession.get(session);
    stream.on("data", () => undefined);
    stream.on("end", () => {
      connection?.events.push(`stored midCommand=${connection.midCommand}`);
      void (this.holdData ?? Promise.resolve()).then(() => callback(null, "queued"));
    });
  }
}

let material: TlsMaterial;
const servers: SMTPServer[] = [];

async function listen(server: ProbeServer): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.server.address() as net.AddressInfo).port;
}

function lastConnection(server: ProbeServer): ProbeConnection {
  const connection = server.built.at(-1);
  if (!connection) throw new Error("no connection was built");
  return connection;
}

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-smtp-contract-"));
  material = await loadTls(loadConfig({ MAILHARBOR_DATA_DIR: dir, MAIL_HOSTNAME: "probe.test.example" }));
  fs.rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.options.closeTimeout = 1;
          server.close(() => resolve());
        }),
    ),
  );
});

describe("smtp-server version", () => {
  it("is the one the contract tests pass against, and an untested one is refused by name", () => {
    expect(installedSmtpServerVersion()).toBe("3.21.6");
    expect(TESTED_SMTP_SERVER_VERSIONS).toContain(installedSmtpServerVersion());
    expect(() => checkSmtpServerVersion(logger.child({ test: "contract" }))).not.toThrow();
    const refused = (() => {
      try {
        checkSmtpServerVersion(logger.child({ test: "contract" }), "3.99.0");
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(MailharborError);
    expect((refused as Error).message).toMatch(/^smtp-server 3\.99\.0 is installed, but .* tested only with 3\.21\.6/);
  });
});

describe("the private members exist with the types the adapter uses", () => {
  it("on SMTPConnection, SMTPServer and SMTPStream", () => {
    for (const method of [
      "_setListeners",
      "connectionReady",
      "_createParser",
      "_onCommand",
      "_whenWritable",
      "_resetSession",
      "_parseAddressCommand",
      "_onClose",
      "_onError",
      "_onTimeout",
      "upgrade",
      "handler_EHLO",
      "handler_AUTH",
      "handler_DATA",
    ]) {
      expect(typeof (SMTPConnection.prototype as unknown as Record<string, unknown>)[method], `SMTPConnection#${method}`).toBe("function");
    }
    for (const method of ["connect", "_onError", "_onClientConnect"]) {
      expect(typeof (SMTPServer.prototype as unknown as Record<string, unknown>)[method], `SMTPServer#${method}`).toBe("function");
    }
    expect(typeof SMTPStream.prototype._write).toBe("function");
  });

  it("on a live connection and server", async () => {
    const server = new ProbeServer({});
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    const connection = lastConnection(server) as unknown as Record<string, unknown>;
    for (const [member, type] of Object.entries({
      _socket: "object",
      _parser: "object",
      _server: "object",
      _closing: "boolean",
      _closed: "boolean",
      _ready: "boolean",
      _upgrading: "boolean",
      _nextHandler: "boolean",
      _handlerPending: "boolean",
      _dataStream: "boolean",
      _unrecognizedCommands: "number",
      _unauthenticatedCommands: "number",
    }))
      expect(typeof connection[member], `connection.${member}`).toBe(type);
    const parser = connection._parser as unknown as Record<string, unknown>;
    expect(typeof parser._remainder).toBe("string");
    expect(typeof parser.isClosed).toBe("boolean");
    expect(typeof parser._dataMode).toBe("boolean");
    expect(typeof parser.dataBytes).toBe("number");
    const raw = server as unknown as Record<string, unknown>;
    expect(raw.connections).toBeInstanceOf(Set);
    expect(raw._pendingSockets).toBeInstanceOf(Map);
    expect(raw._closeTimeout).toBe(false);
    dialog.close();
  });

  it("connect() is still the one the adapter copies (the connection class aside)", () => {
    const body = SMTPServer.prototype.connect.toString().replace(/\s+/g, " ");
    expect(body).toBe(
      "connect(socket, socketOptions) { let connection = new SMTPConnection(this, socket, socketOptions); this.connections.add(connection); connection.on('error', err => this._onError(err)); connection.on('connect', data => this._onClientConnect(data)); connection.init(); }",
    );
  });
});

describe("what the adapter relies upon", () => {
  it("init() through _setListeners and connectionReady greets at once, without smtp-server's 100 ms wait", async () => {
    const server = new ProbeServer({});
    const port = await listen(server);
    // the fastest of a few, so one slow scheduling on a busy machine does not decide it
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const dialog = await SmtpDialog.open(port);
      times.push(Date.now() - started);
      expect(dialog.greeting.code).toBe(220);
      dialog.close();
    }
    expect(Math.min(...times)).toBeLessThan(90);
  });

  it("the socket's data is seen before the parser's (the pregreet test), and greet() may come later", async () => {
    const server = new ProbeServer({});
    server.greetingDelayMs = 300;
    const port = await listen(server);
    const polite = await SmtpDialog.open(port);
    expect(polite.greeting.code).toBe(220);
    expect((await polite.command("NOOP")).code).toBe(250);
    polite.close();
    const rude = net.connect({ port, host: "127.0.0.1" });
    await new Promise((resolve) => rude.once("connect", resolve));
    rude.write("EHLO early\r\n");
    const seen: string[] = [];
    rude.on("data", (chunk) => seen.push(chunk.toString("latin1")));
    await new Promise((resolve) => rude.once("close", resolve));
    expect(lastConnection(server).events).toContain("talked first");
    expect(seen.join("")).not.toMatch(/^2/);
  });

  it("every command line passes _onCommand, which may answer it (whenWritable resumes parsing) or let smtp-server dispatch it to handler_<VERB>", async () => {
    const server = new ProbeServer({});
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    expect((await dialog.command("XINTERCEPT")).last).toBe("250 intercepted");
    expect((await dialog.command("EHLO probe.example")).code).toBe(250);
    expect((await dialog.command("MAIL FROM:<a@probe.example>")).code).toBe(250);
    expect((await dialog.command("XRESET")).last).toBe("250 envelope=false hello=set.by.handler");
    expect((await dialog.command("NOOP")).code).toBe(250);
    expect(lastConnection(server).events.filter((e) => e.startsWith("command "))).toEqual([
      "command XINTERCEPT prompt=true",
      "command EHLO probe.example prompt=true",
      "command MAIL FROM:<a@probe.example> prompt=true",
      "command XRESET prompt=true",
      "command NOOP prompt=true",
    ]);
    dialog.close();
  });

  it("during an AUTH exchange a line is not at the command prompt (_nextHandler)", async () => {
    const server = new ProbeServer({ authMethods: ["PLAIN"], allowInsecureAuth: true, onAuth: (_auth, _session, callback) => callback(new Error("no")) });
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    await dialog.command("EHLO probe.example");
    expect((await dialog.command("AUTH PLAIN")).code).toBe(334);
    await dialog.command(Buffer.from("\0user\0secret").toString("base64"));
    expect(lastConnection(server).events).toContain("command AUTH PLAIN prompt=true");
    expect(lastConnection(server).events.some((e) => e.endsWith("prompt=false"))).toBe(true);
    dialog.close();
  });

  it("_parseAddressCommand parses MAIL FROM and RCPT TO and its result is what the transaction keeps", async () => {
    const server = new ProbeServer({});
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    await dialog.command("EHLO probe.example");
    expect((await dialog.command("MAIL FROM:<a@xn--bcher-kva.example>")).code).toBe(250);
    expect((await dialog.command("RCPT TO:<b@probe.example>")).code).toBe(250);
    // smtp-server turns the A-label into Unicode: MxConnection.addressParsed undoes that for the sender
    expect(lastConnection(server).events).toEqual(expect.arrayContaining(["parsed MAIL FROM a@bücher.example", "parsed RCPT TO b@probe.example"]));
    dialog.close();
  });

  it("_dataStream is a stream during DATA, _handlerPending/_dataStream mark a message being stored, _parser.dataBytes counts it", async () => {
    const server = new ProbeServer({});
    let release!: () => void;
    server.holdData = new Promise((resolve) => (release = resolve));
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    await dialog.command("EHLO probe.example");
    await dialog.command("MAIL FROM:<a@probe.example>");
    await dialog.command("RCPT TO:<b@probe.example>");
    expect((await dialog.command("DATA")).code).toBe(354);
    dialog.write("Subject: probe\r\n\r\nbody\r\n.\r\n");
    const connection = lastConnection(server);
    for (let i = 0; i < 100 && !connection.events.some((e) => e.startsWith("stored")); i++) await sleep(20);
    expect(connection.events).toContain("data stream readable=true");
    expect(connection.events).toContain("stored midCommand=true");
    expect(connection.midCommand).toBe(true);
    expect((connection as unknown as { dataBytes: number }).dataBytes).toBeGreaterThan(0);
    release();
    expect((await dialog.reply()).last).toMatch(/^250 .*queued/);
    expect(connection.midCommand).toBe(false);
    dialog.close();
  });

  it("_unrecognizedCommands and _unauthenticatedCommands are the counters that end a session at 10", async () => {
    const server = new ProbeServer({});
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    for (let i = 0; i < 9; i++) expect((await dialog.command("XNOSUCH")).code).toBe(500);
    expect((await dialog.command("XCOUNTERS")).code).toBe(250);
    for (let i = 0; i < 9; i++) expect((await dialog.command("XNOSUCH")).code).toBe(500);
    expect((await dialog.command("XNOSUCH")).code).toBe(421);
    await dialog.whenClosed();
  });

  it("_createParser runs again after STARTTLS, and upgrade() calls its secure callback after the handshake", async () => {
    const server = new ProbeServer({ key: material.key, cert: material.cert }, true);
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    await dialog.command("EHLO probe.example");
    dialog.write("NOOP\n");
    expect((await dialog.reply()).last).toBe("500 5.5.2 bare-newline");
    await dialog.startTls();
    expect((await dialog.command("EHLO probe.example")).code).toBe(250);
    // upgrade()'s secure callback runs after the handshake and the server's onSecure
    expect(lastConnection(server).events).toContain("tls wasAuthenticated=false");
    // the TLS session's parser is a LineCheckedStream too
    dialog.write("NOOP\0\r\n");
    expect((await dialog.reply()).last).toBe("500 5.5.2 nul");
    expect((await dialog.command("NOOP")).code).toBe(250);
    dialog.close();
  });

  it("LineCheckedStream passes DATA bytes to SMTPStream untouched (_dataMode)", async () => {
    const server = new ProbeServer({}, true);
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    await dialog.command("EHLO probe.example");
    await dialog.command("MAIL FROM:<a@probe.example>");
    await dialog.command("RCPT TO:<b@probe.example>");
    await dialog.command("DATA");
    // a bare LF and a NUL inside the message are message data, not command lines
    dialog.write("Subject: x\r\n\r\nbare\nnul\0\r\n.\r\n");
    expect((await dialog.reply()).last).toMatch(/^250 .*queued/);
    expect(lastConnection(server).events.some((e) => e.startsWith("line problem"))).toBe(false);
    expect(new LineCheckedStream()).toBeInstanceOf(SMTPStream);
    dialog.close();
  });

  it("stopReading/detachSocket (_parser unpipe and isClosed, _remainder, connections, _onClose/_onError/_onTimeout) hand the socket over whole", async () => {
    const server = new ProbeServer({ socketTimeout: 300 });
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    await dialog.command("EHLO probe.example");
    expect(server.connectionCount).toBe(1);
    expect((await dialog.command("XDETACH")).last).toBe("299 detached");
    const connection = lastConnection(server);
    expect(connection.events).toContain("early=false");
    expect(server.connectionCount).toBe(0);
    expect(server.openList()).toEqual([]);
    // the socket is the test's now: smtp-server neither parses what arrives nor times it out
    const [socket] = server.detached;
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    // the socket stays paused after the unpipe until its new owner reads (nodemailer resumes it)
    socket.resume();
    dialog.write("QUIT\r\n");
    await sleep(600);
    expect(Buffer.concat(received).toString("latin1")).toBe("QUIT\r\n");
    expect(connection.events).not.toContain("idle timeout");
    socket.destroy();
    await dialog.whenClosed();
    expect(connection.events).not.toContain("closed");
  });

  it("stopReading reports input already waiting behind the command (_remainder: a partial line)", async () => {
    const server = new ProbeServer({});
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    await dialog.command("EHLO probe.example");
    dialog.write("XDETACH\r\nNOO");
    expect((await dialog.reply()).last).toBe("550 early input");
    expect(lastConnection(server).events).toContain("early=true");
    dialog.close();
  });

  it("_onClose and _onTimeout reach onClosed and onIdleTimeout for a connection that was not handed over", async () => {
    const server = new ProbeServer({ socketTimeout: 300 });
    const port = await listen(server);
    const dialog = await SmtpDialog.open(port);
    expect((await dialog.reply()).code).toBe(421);
    await dialog.whenClosed();
    const connection = lastConnection(server);
    for (let i = 0; i < 50 && !connection.events.includes("closed"); i++) await sleep(20);
    expect(connection.events).toEqual(expect.arrayContaining(["idle timeout", "closed"]));
    expect(connection.events.filter((e) => e === "closed")).toHaveLength(1);
  });

  it("connect() builds the listener's class (or nothing), and close() with _closeTimeout leaves the prompt", async () => {
    const server = new ProbeServer({});
    const port = await listen(server);
    server.refuseNext = true;
    const refused = net.connect({ port, host: "127.0.0.1" });
    await new Promise((resolve) => refused.once("close", resolve));
    expect(server.built).toHaveLength(0);
    const dialog = await SmtpDialog.open(port);
    expect(lastConnection(server)).toBeInstanceOf(ProbeConnection);
    expect(server.connectionCount).toBe(1);
    server.closeWithin(5000, () => undefined);
    expect((await dialog.command("NOOP")).code).toBe(421);
    expect(lastConnection(server).events.at(-1)).toBe("command NOOP prompt=false");
  });

  it("admitFirst runs before smtp-server's accept handler; topmostSocket finds the TLS socket of a pending implicit handshake (_pendingSockets)", async () => {
    const server = new ProbeServer({ secure: true, key: material.key, cert: material.cert });
    const accepted: net.Socket[] = [];
    let admit = false;
    server.useAdmission((socket) => {
      accepted.push(socket);
      return admit;
    });
    const port = await listen(server);
    const first = net.connect({ port, host: "127.0.0.1" });
    first.on("error", () => undefined);
    for (let i = 0; i < 50 && accepted.length === 0; i++) await sleep(20);
    expect(accepted).toHaveLength(1);
    // not admitted: smtp-server never saw it (no pending handshake, no connection)
    expect(server.topmost(accepted[0])).toBe(accepted[0]);
    first.destroy();
    admit = true;
    // a TCP connection that never starts its TLS handshake stays pending
    const second = net.connect({ port, host: "127.0.0.1" });
    second.on("error", () => undefined);
    for (let i = 0; i < 50 && accepted.length < 2; i++) await sleep(20);
    const topmost = server.topmost(accepted[1]);
    expect(topmost).not.toBe(accepted[1]);
    expect(typeof (topmost as tls.TLSSocket).getCipher).toBe("function");
    second.destroy();
    expect(server.built).toHaveLength(0);
  });
});
