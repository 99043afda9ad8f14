// `npm run bench:drain [-- --quick]`: how fast held mail leaves through ATRN, against real peers
// and beside Postfix in the same run.
//
// Starts its own embedded PostgreSQL (default durability: fsync on) and the real mailer, holds
// 4 KB messages for one domain and drains them with ATRN from a separate customer process. The
// customer is an ODMR client (AUTH CRAM-MD5, ATRN) that after the 250 relays byte for byte
// between the mailer and a real Postfix `smtp-sink` (with PIPELINING, and with `-p` without it),
// or a receiving Postfix smtpd (PIPELINING and CHUNKING, as root: test/helpers/postfix-receiver.ts).
// Node's sockets leave Nagle on unless told otherwise (`noDelay` defaults to false), so the
// relay's "no TCP_NODELAY" case is the default of any socket program; the "direct" case is the
// same relay with setNoDelay(true) on both sockets (smtp-sink cannot dial ODMR itself). Also one
// session on the implicit-TLS port, four sessions on one domain, our own ETRN run (ETRN on our
// MX, our SMTP client delivering to smtp-sink directly, as Postfix's flush does; here and across
// the 50 ms link), and real fetchmail (6.4) into smtp-sink beside a database-free ODMR provider
// (in this script) through the same fetchmail.
// Beside each figure: Postfix's ETRN flush of the same load (same count, 4 KB) into smtp-sink,
// set up by ../shared/bench/postfix-anchor.sh, at destination concurrency 1 and at its default.
// Medians of 3 alternated runs (1 with --quick). Then holds 1,000,000 deliveries for 10,000
// other domains and measures the ATRN reply latency (453 for an empty domain, 250 for one with
// held mail), and the mailer's peak RSS.
//
// At 50 ms round-trip time (as root, with `ip` and python3): a network namespace mhbench-<pid>
// joined to the host by two TUN devices on a /30 of 169.254.0.0/16 and a delay line holding each
// packet 25 ms each way (see DELAY_LINE: this kernel has no netem). The
// customer process, its smtp-sinks and a receiving Postfix (smtpd with CHUNKING, which smtp-sink
// lacks) run inside it, a second mailer listens on the host end of the
// link; Postfix's ETRN flush goes to an smtp-sink inside the namespace across the same link (its
// transport and smtp_bind_address are switched for the part and put back after it). The namespace
// is removed at the end, on errors and on SIGINT/SIGTERM too.
//
// Options: --quick (fewer messages, one run each, 100,000 other deliveries), --messages N,
// --keep (keep the temporary data directory), --no-anchor (skip Postfix), --no-rtt (skip the
// 50 ms part), --rtt-only (only the 50 ms part), --rtt-messages N (its load, default 200),
// --only TEXT (only the rows whose description contains TEXT). BENCH_PROFILE=DIR: a CPU profile of
// each mailer into DIR (node --cpu-prof).
// Run as the customer: --customer <json> (internal).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { cpuBetween, mailerProfileFlags, postgresPids, processCpuMs } from "./bench-cpu.ts";
import { cramMd5Digest } from "../lib/auth/cram-md5.ts";
import { freePort } from "../lib/system/free-port.ts";
import { PostfixReceiver, postfixUnavailable } from "../test/helpers/postfix-receiver.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------------------------------------
// The customer: ODMR client, then a minimal SMTP sink on the same connection (like Postfix's
// smtp-sink: PIPELINING, answers without looking at the content).

interface CustomerTask {
  port: number;
  login: string;
  secret: string;
  domain: string;
  mode: "relay" | "latency-453" | "latency-250";
  sessions: number;
  /** latency modes: ATRN commands (453) or sessions (250) to time */
  samples: number;
  /** the mailer's address (127.0.0.1 unless the customer is across the 50 ms link) */
  host?: string;
  /** relay mode: the smtp-sink to relay into, whether both relay sockets set TCP_NODELAY, implicit TLS */
  sinkPort?: number;
  sinkHost?: string;
  noDelay?: boolean;
  tls?: boolean;
}

interface SessionTimes {
  atrnSent: number;
  atrnReplied: number;
  firstMail: number | null;
  lastMessage: number | null;
  messages: number;
}

function lineReader(socket: net.Socket) {
  let buffer: Buffer = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  let ended = false;
  const onData = (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    wake?.();
  };
  socket.on("data", onData);
  socket.on("close", () => {
    ended = true;
    wake?.();
  });
  return {
    async reply(): Promise<string> {
      for (;;) {
        let start = 0;
        for (let nl = buffer.indexOf(10); nl >= 0; nl = buffer.indexOf(10, start)) {
          const line = buffer.subarray(start, nl).toString("latin1");
          start = nl + 1;
          if (line[3] !== "-") {
            buffer = buffer.subarray(start);
            return line.replace(/\r$/, "");
          }
        }
        if (ended) throw new Error("connection closed");
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    },
    detach(): Buffer {
      socket.off("data", onData);
      const rest = buffer;
      buffer = Buffer.alloc(0);
      return rest;
    },
  };
}

/** ETRN `node` on the MTA at host:port after EHLO; when the command was sent (performance.now()) and the reply. QUIT follows. */
async function sendEtrn(host: string, port: number, node: string): Promise<{ start: number; reply: string }> {
  const socket = net.connect(port, host);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const reader = lineReader(socket);
  await reader.reply();
  socket.write("EHLO customer.bench.example\r\n");
  await reader.reply();
  const start = performance.now();
  socket.write(`ETRN ${node}\r\n`);
  const reply = await reader.reply();
  socket.end("QUIT\r\n");
  return { start, reply };
}

/** For the ATRN-250 latency: a sink that defers every recipient, so the held mail stays held. */
function sink(socket: net.Socket, pending: Buffer): Promise<Omit<SessionTimes, "atrnSent" | "atrnReplied">> {
  return new Promise((resolve) => {
    const times = { firstMail: null as number | null, lastMessage: null as number | null, messages: 0 };
    let buffer = pending;
    const onData = (chunk?: Buffer) => {
      if (chunk) buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      const out: string[] = [];
      for (let nl = buffer.indexOf(10); nl >= 0; nl = buffer.indexOf(10)) {
        const verb = buffer.subarray(0, Math.min(4, nl)).toString("latin1").toUpperCase();
        buffer = buffer.subarray(nl + 1);
        if (verb === "EHLO") out.push("250-sink.bench.example\r\n250-PIPELINING\r\n250 8BITMIME");
        else if (verb === "MAIL") {
          times.firstMail ??= performance.now();
          out.push("250 2.1.0 Ok");
        } else if (verb === "RCPT") out.push("450 4.2.0 Try again later");
        else if (verb === "DATA") out.push("554 5.5.1 No valid recipients");
        else if (verb === "QUIT") {
          out.push("221 2.0.0 Bye");
          socket.end(out.join("\r\n") + "\r\n");
          return;
        } else out.push("250 2.0.0 Ok");
      }
      if (out.length) socket.write(out.join("\r\n") + "\r\n");
    };
    socket.on("data", onData);
    socket.on("close", () => resolve(times));
    socket.write("220 sink.bench.example ESMTP\r\n");
    if (buffer.length) onData();
  });
}

/** After 250: connect to smtp-sink and copy bytes both ways until the mailer closes. */
async function relay(odmr: net.Socket, pending: Buffer, task: CustomerTask): Promise<Omit<SessionTimes, "atrnSent" | "atrnReplied">> {
  const sink = net.connect({ port: task.sinkPort!, host: task.sinkHost ?? "127.0.0.1", noDelay: task.noDelay === true });
  odmr.setNoDelay(task.noDelay === true);
  await new Promise<void>((resolve, reject) => sink.once("connect", resolve).once("error", reject));
  if (pending.length) sink.write(pending);
  let firstMail: number | null = null;
  odmr.on("data", (chunk: Buffer) => {
    firstMail ??= chunk.includes("MAIL FROM") ? performance.now() : null;
    sink.write(chunk);
  });
  sink.on("data", (chunk: Buffer) => odmr.write(chunk));
  await new Promise<void>((resolve) => {
    odmr.once("close", () => {
      sink.end();
      resolve();
    });
    sink.once("close", () => odmr.end());
  });
  return { firstMail, lastMessage: performance.now(), messages: 0 };
}

async function customerSession(task: CustomerTask, atrns = 1): Promise<SessionTimes[]> {
  const socket: net.Socket = task.tls
    ? tls.connect({ port: task.port, host: task.host ?? "127.0.0.1", rejectUnauthorized: false })
    : net.connect(task.port, task.host ?? "127.0.0.1");
  // the ODMR dialogue before ATRN is not what is measured; the relay sets its own mode
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once(task.tls ? "secureConnect" : "connect", resolve).once("error", reject));
  const reader = lineReader(socket);
  const send = (line: string) => socket.write(line + "\r\n");
  await reader.reply();
  send("EHLO customer.bench.example");
  await reader.reply();
  send("AUTH CRAM-MD5");
  const challenge = Buffer.from((await reader.reply()).slice(4), "base64").toString();
  send(Buffer.from(`${task.login} ${cramMd5Digest(task.secret, challenge)}`).toString("base64"));
  const auth = await reader.reply();
  if (!auth.startsWith("235")) throw new Error(`AUTH: ${auth}`);
  const results: SessionTimes[] = [];
  for (let i = 0; i < atrns; i++) {
    const atrnSent = performance.now();
    send(`ATRN ${task.domain}`);
    const reply = await reader.reply();
    const atrnReplied = performance.now();
    if (reply.startsWith("250")) {
      const counts = task.mode === "relay" ? await relay(socket, reader.detach(), task) : await sink(socket, reader.detach());
      results.push({ atrnSent, atrnReplied, ...counts });
      return results;
    }
    if (!reply.startsWith("453")) throw new Error(`ATRN: ${reply}`);
    results.push({ atrnSent, atrnReplied, firstMail: null, lastMessage: null, messages: 0 });
  }
  send("QUIT");
  await reader.reply().catch(() => undefined);
  socket.end();
  return results;
}

async function runCustomer(task: CustomerTask): Promise<void> {
  let results: SessionTimes[];
  if (task.mode === "relay") {
    results = (await Promise.all(Array.from({ length: task.sessions }, () => customerSession(task)))).flat();
  } else if (task.mode === "latency-453") {
    results = await customerSession(task, task.samples);
  } else {
    results = [];
    for (let i = 0; i < task.samples; i++) results.push(...(await customerSession(task)));
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Real peers: smtp-sink, fetchmail, a database-free provider, Postfix.

/**
 * Postfix's smtp-sink on a free port; `-p`: no PIPELINING. `at`: inside a network namespace, on a
 * given address and port, with its `-c` counters written to `countsTo` (what pfb.py's drain reads).
 */
async function startSmtpSink(
  pipelining: boolean,
  at?: { netns: string; host: string; port: number; countsTo?: string },
): Promise<{ port: number; stop(): void }> {
  const port = at?.port ?? (await freePort());
  const host = at?.host ?? "127.0.0.1";
  const args = [
    ...(pipelining ? [] : ["-p"]),
    ...(at?.countsTo ? ["-c"] : []),
    ...(process.getuid?.() === 0 ? ["-u", "nobody"] : []),
    `${host}:${port}`,
    "1000",
  ];
  const stdout = at?.countsTo ? fs.openSync(at.countsTo, "a") : "ignore";
  const child = at
    ? spawn("ip", ["netns", "exec", at.netns, "smtp-sink", ...args], { stdio: ["ignore", stdout, stdout] })
    : spawn("smtp-sink", args, { stdio: "ignore" });
  if (typeof stdout === "number") fs.closeSync(stdout);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = net
        .connect(port, host, () => {
          probe.destroy();
          resolve(true);
        })
        .once("error", () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, stop: () => child.kill("SIGTERM") };
}

/** Real fetchmail as the ODMR customer, relaying into the sink; the seconds it took. */
async function timeFetchmail(port: number, login: string, secret: string, domain: string, sinkPort: number): Promise<number> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-bench-fetchmail-"));
  const rc = path.join(home, ".fetchmailrc");
  fs.writeFileSync(
    rc,
    `poll 127.0.0.1 with protocol ODMR service ${port} auth cram-md5\n  user "${login}" there with password "${secret}"\n  fetchdomains ${domain}\n  smtphost "127.0.0.1/${sinkPort}"\n`,
    { mode: 0o600 },
  );
  const start = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn("fetchmail", ["-f", rc, "-N", "--nosyslog", "--pidfile", path.join(home, "pid")], {
        env: { ...process.env, HOME: home, LC_ALL: "C" },
        stdio: "ignore",
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`fetchmail exited with ${code}`));
      });
    });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
  return (performance.now() - start) / 1000;
}

/**
 * An ODMR provider without a database: greets, takes any AUTH CRAM-MD5, answers ATRN with 250,
 * then delivers `count` fixed 4 KB messages, pipelining within a transaction (MAIL, RCPT and DATA
 * in one write, then the body and its dot) - the ceiling of what fetchmail's relay allows.
 */
async function startDatabaseFreeProvider(count: number): Promise<{ port: number; close(): void }> {
  const body = Buffer.from(`Subject: bench\r\n\r\n${`${"x".repeat(62)}\r\n`.repeat(63)}`);
  const server = net.createServer(async (socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => undefined);
    const reader = lineReader(socket);
    const send = (text: string | Buffer) => socket.write(text);
    try {
      send("220 provider.bench.example ESMTP\r\n");
      await reader.reply();
      send("250-provider.bench.example\r\n250-AUTH CRAM-MD5\r\n250 ATRN\r\n");
      await reader.reply();
      send(`334 ${Buffer.from("<1.2@provider.bench.example>").toString("base64")}\r\n`);
      await reader.reply();
      send("235 2.7.0 ok\r\n");
      await reader.reply();
      send("250 OK, turnaround\r\n");
      await reader.reply(); // the customer's 220
      send("EHLO provider.bench.example\r\n");
      await reader.reply();
      for (let i = 0; i < count; i++) {
        send(`MAIL FROM:<sender@origin.example>\r\nRCPT TO:<user@bench.example>\r\nDATA\r\n`);
        await reader.reply();
        await reader.reply();
        await reader.reply();
        send(Buffer.concat([body, Buffer.from(".\r\n")]));
        await reader.reply();
      }
      send("QUIT\r\n");
      await reader.reply().catch(() => undefined);
    } finally {
      socket.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** Files in a Postfix queue's incoming, active and deferred queues: the messages it still holds. */
function queueFiles(spool: string): number {
  let n = 0;
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
      else n++;
    }
  };
  for (const queue of ["incoming", "active", "deferred"]) if (fs.existsSync(path.join(spool, queue))) walk(path.join(spool, queue));
  return n;
}

const ANCHOR = path.resolve(ROOT, "..", "shared", "bench", "postfix-anchor.sh");

/** Postfix set up by postfix-anchor.sh: an ETRN-flushed domain delivering to its own smtp-sink. */
class PostfixAnchor {
  readonly base = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-bench-postfix-"));
  private env: NodeJS.ProcessEnv = { ...process.env };

  static available(): string | null {
    if (process.getuid?.() !== 0) return "not root";
    if (!fs.existsSync(ANCHOR)) return `${ANCHOR} is missing`;
    return null;
  }

  async start(): Promise<void> {
    // Postfix's own processes (user postfix) must reach the queue under it
    fs.chmodSync(this.base, 0o755);
    // pfb.py waits for an idle machine before each run (QUIET_MAX, in % of all CPUs together) and
    // flags runs where other processes used CPU; on a shared machine it would only wait
    this.env = {
      ...process.env,
      BASE: this.base,
      IN_PORT: String(await freePort()),
      SINK_PORT: String(await freePort()),
      LOGGING: "0",
      QUIET_MAX: "1000",
      OTHERS_MAX: "1000",
    };
    this.script("setup");
    this.script("start");
  }

  private script(command: string): void {
    const result = spawnSync("bash", [ANCHOR, command], { env: this.env, stdio: ["ignore", "ignore", "pipe"] });
    if (result.status !== 0) throw new Error(`postfix-anchor.sh ${command}: ${result.stderr.toString().slice(-500)}`);
  }

  /** Destination concurrency for the ETRN domain's transport: 1, or Postfix's default (20). */
  concurrency(limit: number | "default"): void {
    const conf = path.join(this.base, "etc");
    if (limit === "default") spawnSync("postconf", ["-c", conf, "-X", "etrn-only_destination_concurrency_limit"]);
    else spawnSync("postconf", ["-c", conf, "-e", `etrn-only_destination_concurrency_limit=${limit}`]);
    spawnSync("postfix", ["-c", conf, "reload"], { stdio: "ignore" });
  }

  /**
   * Sends the ETRN domain to `[host]:port` (an smtp-sink across the 50 ms link), its SMTP client
   * bound to `bindAddress` instead of the loopback address of the anchor's main.cf; no argument:
   * back to the anchor's own sink. The listener (inet_interfaces) stays on loopback.
   */
  route(to?: { host: string; port: number; bindAddress: string }): void {
    const conf = path.join(this.base, "etc");
    const transport = path.join(conf, "transport");
    fs.writeFileSync(transport, `cust.example etrn-only:[${to?.host ?? "127.0.0.1"}]:${to?.port ?? this.env.SINK_PORT}\n`);
    for (const [command, args] of [
      ["postmap", ["-c", conf, transport]],
      ["postconf", ["-c", conf, "-e", `smtp_bind_address=${to?.bindAddress ?? "127.0.0.1"}`]],
      ["postfix", ["-c", conf, "reload"]],
    ] as const) {
      const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
      if (result.status !== 0) throw new Error(`${command}: ${result.stderr.toString().slice(-300)}`);
    }
  }

  /** The smtp-sink counter file pfb.py reads for another sink (under the instance's log directory). */
  sinkCounts(name: string): string {
    return path.join(this.base, "log", `${name}.out`);
  }

  private helperArgs(): { helper: string; common: string[] } {
    return {
      helper: path.join(this.base, "bin", "pfb.py"),
      common: [
        "--results",
        path.join(this.base, "results.jsonl"),
        "--conf",
        path.join(this.base, "etc"),
        "--spool",
        path.join(this.base, "spool"),
        "--port",
        this.env.IN_PORT!,
        "--domain",
        "cust.example",
        "--size",
        "4096",
      ],
    };
  }

  /** Queues `count` 4 KB messages for the ETRN domain (smtp-source, 10 sessions). */
  private intake(count: number): void {
    const { helper, common } = this.helperArgs();
    const intake = spawnSync("python3", [helper, "intake", ...common, "--tmp", this.base, "--sessions", "10", "--msgs", String(count), "--extra="], {
      env: this.env,
    });
    if (intake.status !== 0 && intake.status !== 3) throw new Error(`postfix intake: ${intake.stderr.toString().slice(-300)}`);
  }

  /**
   * Queues `count` messages and flushes them with ETRN; messages/s into the sink (the anchor's
   * own, or `sink`: the counter file and port of another).
   */
  drain(count: number, sink?: { counts: string; port: number }): number {
    this.intake(count);
    const { helper, common } = this.helperArgs();
    const drain = spawnSync(
      "python3",
      [
        helper,
        "drain",
        ...common,
        "--method",
        "etrn",
        "--sinkout",
        sink?.counts ?? path.join(this.base, "log", "sink.out"),
        "--sinkport",
        String(sink?.port ?? this.env.SINK_PORT!),
      ],
      { env: this.env },
    );
    if (drain.status !== 0 && drain.status !== 3) throw new Error(`postfix drain: ${drain.stderr.toString().slice(-300)}`);
    // timed from the ETRN command, as our figures are timed from the ATRN command
    const record = JSON.parse(drain.stdout.toString().trim().split("\n").pop()!) as { sink_rate_from_trigger: number; delivered_to_sink: number };
    if (record.delivered_to_sink < count) throw new Error(`postfix delivered ${record.delivered_to_sink} of ${count}`);
    return record.sink_rate_from_trigger;
  }

  /**
   * For a receiver that keeps no smtp-sink counters (a real MTA): queues `count` messages, sends
   * ETRN and times until the anchor's queue is empty, i.e. the receiver answered the last one.
   */
  async drainUntilEmpty(count: number): Promise<number> {
    this.intake(count);
    const spool = path.join(this.base, "spool");
    if (queueFiles(spool) !== count) throw new Error(`postfix holds ${queueFiles(spool)} messages, not ${count}`);
    const { start, reply } = await sendEtrn("127.0.0.1", Number(this.env.IN_PORT), "cust.example");
    if (!reply.startsWith("250")) throw new Error(`postfix ETRN: ${reply}`);
    const deadline = start + 900_000;
    while (queueFiles(spool) > 0) {
      if (performance.now() > deadline) throw new Error(`postfix still holds ${queueFiles(spool)} messages after 900 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return count / ((performance.now() - start) / 1000);
  }

  stop(): void {
    try {
      this.script("cleanup");
    } finally {
      fs.rmSync(this.base, { recursive: true, force: true });
    }
  }
}

/**
 * Holds every packet 25 ms in each direction between two TUN devices, the host's and the
 * namespace's: a delay line at the IP layer, so TCP itself sees the 50 ms (handshake, ACK clock,
 * Nagle waiting for the ACK of its last segment). It stands in for `tc netem delay 25ms` on a veth
 * pair, which kernels built without CONFIG_NET_SCH_NETEM (and without fq for an EDT delay) lack.
 * Constant delay, so one FIFO keeps both directions in due order. Python: no TUN binding in Node.
 */
const DELAY_LINE = String.raw`
import collections, ctypes, fcntl, os, select, struct, sys, time
def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", name.encode(), 0x0001 | 0x1000))  # TUNSETIFF: IFF_TUN | IFF_NO_PI
    return fd
host = tun(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
if libc.setns(os.open("/run/netns/" + sys.argv[3], os.O_RDONLY), 0x40000000) != 0:  # CLONE_NEWNET
    raise OSError(ctypes.get_errno(), "setns")
far = tun(sys.argv[2])
delay = float(sys.argv[4]) / 1000
other = {host: far, far: host}
line = collections.deque()
print("ready", flush=True)
while True:
    ready, _, _ = select.select([host, far], [], [], max(0.0, line[0][0] - time.monotonic()) if line else None)
    now = time.monotonic()
    for fd in ready:
        line.append((now + delay, other[fd], os.read(fd, 65535)))
    while line and line[0][0] <= time.monotonic():
        _, fd, packet = line.popleft()
        try:
            os.write(fd, packet)
        except OSError:  # that end is not up (yet): dropped, as on a link that is down
            pass
`;

/**
 * The 50 ms link: network namespace mhbench-<pid>, a point-to-point pair of TUN devices on a /30
 * of 169.254.0.0/16 (link local, RFC 3927: nothing but the two ends is ever addressed), joined by
 * the 25 ms each way delay line above.
 */
class RttLink {
  readonly netns = `mhbench-${process.pid}`;
  // interface names have at most 15 characters (IFNAMSIZ)
  private readonly hostIf = `mhb${process.pid}h`;
  private readonly nsIf = `mhb${process.pid}n`;
  readonly hostAddress: string;
  readonly nsAddress: string;
  private delayLine: ChildProcess | null = null;

  constructor() {
    // a /30 per process, so that two copies side by side get different links; the third octet
    // stays within 1-254 (RFC 3927 section 2.1 reserves 169.254.0.0/24 and 169.254.255.0/24)
    const n = process.pid % (254 * 64);
    const prefix = `169.254.${1 + Math.floor(n / 64)}`;
    const base = (n % 64) * 4;
    this.hostAddress = `${prefix}.${base + 1}`;
    this.nsAddress = `${prefix}.${base + 2}`;
  }

  static unavailable(): string | null {
    if (process.getuid?.() !== 0) return "not root";
    for (const tool of ["ip", "python3"]) if (spawnSync(tool, ["-V"], { stdio: "ignore" }).error) return `\`${tool}\` is missing`;
    if (!fs.existsSync("/dev/net/tun")) return "/dev/net/tun is missing";
    return null;
  }

  async up(): Promise<void> {
    const run = (...steps: string[][]) => {
      for (const [command, ...args] of steps) {
        const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
        if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr.toString().trim()}`);
      }
    };
    try {
      run(
        ["ip", "netns", "add", this.netns],
        ["ip", "tuntap", "add", "dev", this.hostIf, "mode", "tun"],
        ["ip", "tuntap", "add", "dev", this.nsIf, "mode", "tun"],
        ["ip", "link", "set", this.nsIf, "netns", this.netns],
      );
      const delayLine = spawn("python3", ["-c", DELAY_LINE, this.hostIf, this.nsIf, this.netns, "25"], { stdio: ["ignore", "pipe", "inherit"] });
      this.delayLine = delayLine;
      await new Promise<void>((resolve, reject) => {
        delayLine.stdout!.once("data", () => resolve());
        delayLine.once("exit", (code) => reject(new Error(`delay line exited with ${code}`)));
      });
      run(
        ["ip", "addr", "add", this.hostAddress, "peer", `${this.nsAddress}/30`, "dev", this.hostIf],
        ["ip", "link", "set", this.hostIf, "up"],
        ["ip", "-n", this.netns, "addr", "add", this.nsAddress, "peer", `${this.hostAddress}/30`, "dev", this.nsIf],
        ["ip", "-n", this.netns, "link", "set", this.nsIf, "up"],
        ["ip", "-n", this.netns, "link", "set", "lo", "up"],
      );
    } catch (error) {
      this.down();
      throw error;
    }
  }

  /** Ends what runs inside (only this script's own children), removes the namespace and the veth pair; idempotent. */
  down(): void {
    const pids = spawnSync("ip", ["netns", "pids", this.netns]).stdout?.toString().split(/\s+/).filter(Boolean) ?? [];
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    if (this.delayLine?.exitCode === null) this.delayLine.kill("SIGKILL");
    spawnSync("ip", ["netns", "del", this.netns], { stdio: "ignore" });
    // the namespace's device goes with the namespace; the host's is persistent until deleted
    spawnSync("ip", ["link", "del", this.hostIf], { stdio: "ignore" });
  }

  /** Round-trip time in ms: the median of TCP connects (SYN to SYN-ACK) from the host to a listener inside. */
  async measure(port: number, samples = 5): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const start = performance.now();
      await new Promise<void>((resolve, reject) => {
        const probe = net
          .connect({ port, host: this.nsAddress, localAddress: this.hostAddress }, () => {
            times.push(performance.now() - start);
            probe.destroy();
            resolve();
          })
          .once("error", reject);
      });
    }
    return times;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// ---------------------------------------------------------------------------------------------
// The harness.

/** A tsx child (the customer); `netns`: inside that network namespace. */
function runChild(args: string[], env: NodeJS.ProcessEnv, netns?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, "--import", "tsx", ...args];
    const child = netns
      ? spawn("ip", ["netns", "exec", netns, ...command], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] })
      : spawn(command[0], command.slice(1), { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`customer exited with ${code}`))));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Resident memory (VmRSS) or its peak so far (VmHWM), in MB. */
function rssMb(pid: number, which: "VmRSS" | "VmHWM"): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${which}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
}

const say = (line: string) => process.stdout.write(line + "\n");

const CONGESTION_CONTROL = "/proc/sys/net/ipv4/tcp_congestion_control";

/**
 * The TCP congestion control the run's sockets use: the host's, or with `--congestion-control NAME`
 * (root) NAME for this run, the host's put back by the returned function. It matters at 50 ms:
 * BBR paces a burst of segments over milliseconds, where CUBIC (Linux's default) sends it at once,
 * and a relay without TCP_NODELAY that reads a paced burst in pieces holds the later ones by Nagle.
 */
function useCongestionControl(name: string | null): () => void {
  const host = fs.readFileSync(CONGESTION_CONTROL, "utf8").trim();
  if (!name || name === host) {
    say(`  TCP congestion control: ${host} (the host's)`);
    return () => undefined;
  }
  fs.writeFileSync(CONGESTION_CONTROL, name);
  say(`  TCP congestion control: ${name} for this run (the host's ${host} is put back at the end)`);
  return () => fs.writeFileSync(CONGESTION_CONTROL, host);
}

async function startMailer(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const mailer = spawn(process.execPath, [...mailerProfileFlags(), "--import", "tsx", path.join(ROOT, "mailer", "main.ts")], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let buffer = "";
    mailer.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.includes('"mailer ready"')) resolve();
      if (buffer.length > 1_000_000) buffer = buffer.slice(-1000);
    });
    mailer.once("exit", (code) => reject(new Error(`mailer exited with ${code}`)));
  });
  return mailer;
}

async function stopMailer(mailer: ChildProcess | null): Promise<void> {
  if (mailer && mailer.exitCode === null) {
    mailer.kill("SIGTERM");
    await new Promise((resolve) => mailer.once("exit", resolve));
  }
}

async function holdBenchMail(client: pg.Client, domain: { id: string; name: string }, customerId: string, count: number, offset: number): Promise<void> {
  // 4 KB messages: a few headers and a body of hex lines
  await client.query(
    `
    WITH g AS (SELECT generate_series($3::int + 1, $3::int + $4::int) AS n)
    , m AS (
      INSERT INTO message (id, mail_from, size, subject, received_at)
      SELECT 'B' || lpad(n::text, 15, '0'), 'sender@origin.example', 4096, 'bench ' || n, now() FROM g
      RETURNING id
    ), b AS (
      INSERT INTO message_body (message_id, raw)
      SELECT 'B' || lpad(n::text, 15, '0'),
        convert_to(rpad(format(E'From: Sender <sender@origin.example>\\r\\nTo: user@bench.example\\r\\nSubject: bench %s\\r\\nMessage-ID: <%s@origin.example>\\r\\n\\r\\n', n, n)
          || repeat(md5(n::text) || md5((n + 1)::text) || E'\\r\\n', 64), 4094) || E'\\r\\n', 'UTF8')
      FROM g
    )
    INSERT INTO delivery (message_id, domain_id, customer_id, recipient)
    SELECT 'B' || lpad(n::text, 15, '0'), $1::uuid, $2::uuid, 'user' || (n % 10) || '@' || $5 FROM g`,
    [domain.id, customerId, offset, count, domain.name],
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const customerIndex = argv.indexOf("--customer");
  if (customerIndex >= 0) return runCustomer(JSON.parse(argv[customerIndex + 1]) as CustomerTask);

  const quick = argv.includes("--quick");
  const rttOnly = argv.includes("--rtt-only");
  const skipRtt = argv.includes("--no-rtt") ? "--no-rtt" : RttLink.unavailable();
  if (skipRtt) say(`  (50 ms round-trip part skipped: ${skipRtt})`);
  if (rttOnly && skipRtt) return;
  const rttMessagesArg = argv.indexOf("--rtt-messages");
  const rttMessages = rttMessagesArg >= 0 ? Number(argv[rttMessagesArg + 1]) : 200;
  const messagesArg = argv.indexOf("--messages");
  const messages = messagesArg >= 0 ? Number(argv[messagesArg + 1]) : quick ? 1000 : 2000;
  const otherDeliveries = quick ? 100_000 : 1_000_000;
  const otherDomains = quick ? 1_000 : 10_000;
  const latencySamples = quick ? 200 : 1000;
  const congestionArg = argv.indexOf("--congestion-control");
  const onlyArg = argv.indexOf("--only");
  const only = onlyArg >= 0 ? argv[onlyArg + 1] : null;

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-bench-"));
  fs.chmodSync(dataDir, 0o755);
  const { openEmbeddedDatabase } = await import("../lib/db/embedded-postgres.ts");
  const { migrateDatabase } = await import("../lib/db/migrate.ts");
  say(
    `bench:drain ${quick ? "(quick) " : ""}— ${rttOnly ? `${rttMessages} messages of 4 KB at 50 ms RTT` : `${messages} messages of 4 KB`}; PostgreSQL with default durability in ${dataDir}`,
  );
  const database = await openEmbeddedDatabase(dataDir);
  let restoreCongestionControl: () => void = () => undefined;
  let mailer: ChildProcess | null = null;
  try {
    restoreCongestionControl = useCongestionControl(congestionArg >= 0 ? argv[congestionArg + 1] : null);
    await migrateDatabase(database.url);
    const { useConfig } = await import("../lib/config/config.ts");
    useConfig({ ...process.env, MAILHARBOR_DATA_DIR: dataDir, DATABASE_URL: database.url });
    const { CLI_ACTOR } = await import("../lib/actor.ts");
    const { createCustomer } = await import("../lib/customers/customers.ts");
    const { createDomain } = await import("../lib/domains/domains.ts");
    const { createLogin } = await import("../lib/logins/logins.ts");
    const { closeDatabase } = await import("../lib/db/close-database.ts");
    const customer = await createCustomer(CLI_ACTOR, { name: "Bench" });
    const domain = await createDomain(CLI_ACTOR, { customer: customer.id, name: "bench.example", recipientPolicy: "accept_all" });
    // our own ETRN runs: released to the bench's address without AUTH, their target set by each row
    const etrnDomain = await createDomain(CLI_ACTOR, {
      customer: customer.id,
      name: "etrn.example",
      recipientPolicy: "accept_all",
      etrnEnabled: true,
      etrnTarget: "127.0.0.1:25",
      etrnFrom: ["127.0.0.0/8", "169.254.0.0/16"],
    });
    const secret = "bench-secret-0123456789";
    await createLogin(CLI_ACTOR, { customer: customer.id, login: "bench", secret });
    await closeDatabase();

    const client = new pg.Client({ connectionString: database.url });
    // the database is stopped at the end while this client may still be open
    client.on("error", () => undefined);
    await client.connect();

    const ports = { mx: await freePort(), odmr: await freePort(), odmrs: await freePort() };
    const env = {
      ...process.env,
      DATABASE_URL: database.url,
      MAILHARBOR_DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      MX_PORT: String(ports.mx),
      ODMR_PORT: String(ports.odmr),
      ODMRS_PORT: String(ports.odmrs),
      BIND_ADDRESS: "127.0.0.1",
      MAIL_HOSTNAME: "mx.bench.example",
      ATRN_RATE_PER_MINUTE: "1000000",
      ETRN_RATE_PER_MINUTE: "1000000",
    };
    mailer = await startMailer(env);
    const customerTask = (mode: CustomerTask["mode"], sessions: number, samples = 0, relayTo: Partial<CustomerTask> = {}): string[] => [
      path.join(ROOT, "scripts", "bench-drain.ts"),
      "--customer",
      JSON.stringify({
        port: relayTo.tls ? ports.odmrs : ports.odmr,
        login: "bench",
        secret,
        domain: "bench.example",
        mode,
        sessions,
        samples,
        ...relayTo,
      } satisfies CustomerTask),
    ];

    let offset = 0;
    const hold = async (count: number, to: { id: string; name: string } = domain) => {
      await holdBenchMail(client, to, customer.id, count, offset);
      offset += count;
      await client.query("CHECKPOINT");
      await client.query("VACUUM ANALYZE delivery");
    };
    const deliveredSoFar = async (of = domain.id) =>
      (await client.query("SELECT count(*)::int AS n FROM delivery WHERE domain_id = $1 AND state = 'delivered'", [of])).rows[0].n as number;
    /** CPU per message of the mailer on the host and of PostgreSQL in the last drain through it (the 50 ms rows use another mailer) */
    let lastCpu: { mailer: number; postgres: number } | null = null;
    /** Starts counting the host mailer's and PostgreSQL's CPU; the function returned sets lastCpu for `count` messages. */
    const countCpu = async () => {
      const before = { mailer: processCpuMs([mailer!.pid!]), postgres: processCpuMs(await postgresPids(client)) };
      return async (count: number) => {
        lastCpu = {
          mailer: cpuBetween(before.mailer, processCpuMs([mailer!.pid!])) / count,
          postgres: cpuBetween(before.postgres, processCpuMs(await postgresPids(client))) / count,
        };
      };
    };
    /** One drain by ATRN through the relay; messages per second, from the ATRN command to the close. */
    const drainRelayed = async (sessions: number, relayTo: Partial<CustomerTask>, count = messages, netns?: string) => {
      await hold(count);
      const before = await deliveredSoFar();
      const cpuCounted = netns ? null : await countCpu();
      const results = JSON.parse(await runChild(customerTask("relay", sessions, 0, relayTo), env, netns)) as SessionTimes[];
      await cpuCounted?.(count);
      const delivered = (await deliveredSoFar()) - before;
      if (delivered !== count) throw new Error(`drained ${delivered} of ${count}`);
      const start = Math.min(...results.map((r) => r.atrnSent));
      const end = Math.max(...results.map((r) => r.lastMessage ?? r.atrnSent));
      return delivered / ((end - start) / 1000);
    };
    /**
     * One ETRN run of ours: the domain's target set to `target` (host:port, a receiver taking
     * mail from our SMTP client directly, as from Postfix's), ETRN on the MX at `mx`; messages
     * per second from the ETRN command until the last result is on record (looked at every 10 ms).
     */
    const drainByEtrn = async (mx: { host: string; port: number }, target: string, count: number) => {
      await hold(count, etrnDomain);
      await client.query("UPDATE domain SET etrn_target = $1 WHERE id = $2", [target, etrnDomain.id]);
      const before = await deliveredSoFar(etrnDomain.id);
      const cpuCounted = mx.port === ports.mx ? await countCpu() : null;
      const { start, reply } = await sendEtrn(mx.host, mx.port, "etrn.example");
      if (!/^25[0-3] /.test(reply)) throw new Error(`our ETRN: ${reply}`);
      const deadline = start + 600_000;
      while ((await deliveredSoFar(etrnDomain.id)) - before < count) {
        if (performance.now() > deadline) throw new Error(`the ETRN run delivered ${(await deliveredSoFar(etrnDomain.id)) - before} of ${count}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const seconds = (performance.now() - start) / 1000;
      await cpuCounted?.(count);
      return count / seconds;
    };
    const drainByFetchmail = async (count: number, sinkPort: number) => {
      await hold(count);
      const before = await deliveredSoFar();
      const seconds = await timeFetchmail(ports.odmr, "bench", secret, "bench.example", sinkPort);
      const delivered = (await deliveredSoFar()) - before;
      if (delivered !== count) throw new Error(`fetchmail drained ${delivered} of ${count}`);
      return delivered / seconds;
    };

    const sinks = { pipelining: await startSmtpSink(true), plain: await startSmtpSink(false) };
    // a real MTA as the customer's receiver, with CHUNKING (only as root: Postfix)
    const receiver = postfixUnavailable()
      ? null
      : new PostfixReceiver({ host: "127.0.0.1", port: await freePort(), domains: ["bench.example", "cust.example"] });
    const fetchmailMessages = Math.min(messages, quick ? 200 : 300);
    const provider = await startDatabaseFreeProvider(fetchmailMessages);
    const skipAnchor = argv.includes("--no-anchor") ? "--no-anchor" : PostfixAnchor.available();
    const anchor = skipAnchor ? null : new PostfixAnchor();
    if (skipAnchor) say(`  (Postfix anchor skipped: ${skipAnchor})`);
    type Row = {
      work: string;
      ours: number[];
      anchorLabel: string;
      anchor: number[];
      ourRun: () => Promise<number>;
      anchorRun: (() => Promise<number> | number) | null;
    };
    const postfixAt = (limit: number | "default") =>
      anchor
        ? () => {
            anchor.concurrency(limit);
            return anchor.drain(messages);
          }
        : null;
    // the 50 ms part: made inside the try below, read by its rows' closures
    const link = skipRtt ? null : new RttLink();
    let far: {
      mailer: ChildProcess;
      mx: number;
      odmr: number;
      sinks: Record<"pipelining" | "plain" | "anchorPipelining" | "anchorPlain", { port: number; stop(): void }>;
      receiver: PostfixReceiver;
    } | null = null;
    // smtp-sink and receiving Postfix ports inside the namespace, where nothing else listens
    const farPorts = { pipelining: 2525, plain: 2526, anchorPipelining: 2527, anchorPlain: 2528, receiver: 2529 };
    const overRtt = (sessions: number, sink: "pipelining" | "plain" | "receiver") => () =>
      drainRelayed(
        sessions,
        { port: far!.odmr, host: link!.hostAddress, sinkPort: farPorts[sink], sinkHost: link!.nsAddress, noDelay: false },
        rttMessages,
        link!.netns,
      );
    const postfixOverRtt = (limit: number | "default", sink: "anchorPipelining" | "anchorPlain") =>
      anchor
        ? () => {
            anchor.concurrency(limit);
            anchor.route({ host: link!.nsAddress, port: farPorts[sink], bindAddress: link!.hostAddress });
            try {
              return anchor.drain(rttMessages, { counts: anchor.sinkCounts(sink), port: farPorts[sink] });
            } finally {
              anchor.route();
            }
          }
        : null;
    /** Postfix's flush into a receiving Postfix (`to` is read when the row runs), timed to its empty queue. */
    const postfixIntoReceiver = (limit: number | "default", to: () => { host: string; port: number; bindAddress: string }, count: number) =>
      anchor
        ? async () => {
            anchor.concurrency(limit);
            anchor.route(to());
            try {
              return await anchor.drainUntilEmpty(count);
            } finally {
              anchor.route();
            }
          }
        : null;
    const rows: Row[] = [
      ...(rttOnly
        ? []
        : [
            {
              work: "1 session, relay without TCP_NODELAY, smtp-sink (PIPELINING)",
              ourRun: () => drainRelayed(1, { sinkPort: sinks.pipelining.port, noDelay: false }),
              anchorLabel: "Postfix ETRN flush, concurrency 1",
              anchorRun: postfixAt(1),
            },
            {
              work: "1 session, relay without TCP_NODELAY, smtp-sink -p (no PIPELINING)",
              ourRun: () => drainRelayed(1, { sinkPort: sinks.plain.port, noDelay: false }),
              anchorLabel: "Postfix ETRN flush, concurrency 1",
              anchorRun: postfixAt(1),
            },
            {
              work: '1 session, "direct" (relay with TCP_NODELAY), smtp-sink',
              ourRun: () => drainRelayed(1, { sinkPort: sinks.pipelining.port, noDelay: true }),
              anchorLabel: "Postfix ETRN flush, concurrency 1",
              anchorRun: postfixAt(1),
            },
            {
              work: "1 session over implicit TLS, relay without TCP_NODELAY, smtp-sink",
              ourRun: () => drainRelayed(1, { sinkPort: sinks.pipelining.port, noDelay: false, tls: true }),
              anchorLabel: "Postfix ETRN flush, concurrency 1 (plain)",
              anchorRun: postfixAt(1),
            },
            ...(receiver
              ? [
                  {
                    work: "1 session, relay without TCP_NODELAY, Postfix smtpd (PIPELINING, CHUNKING)",
                    ourRun: () => drainRelayed(1, { sinkPort: receiver.port, noDelay: false }),
                    anchorLabel: "Postfix ETRN flush into the same smtpd, concurrency 1",
                    anchorRun: postfixIntoReceiver(1, () => ({ host: "127.0.0.1", port: receiver.port, bindAddress: "127.0.0.1" }), messages),
                  },
                ]
              : []),
            {
              work: "4 sessions on one domain, relay without TCP_NODELAY, smtp-sink",
              ourRun: () => drainRelayed(4, { sinkPort: sinks.pipelining.port, noDelay: false }),
              anchorLabel: "Postfix ETRN flush, default concurrency",
              anchorRun: postfixAt("default"),
            },
            {
              work: "our ETRN run (our SMTP client, as Postfix's), smtp-sink (PIPELINING)",
              ourRun: () => drainByEtrn({ host: "127.0.0.1", port: ports.mx }, `127.0.0.1:${sinks.pipelining.port}`, messages),
              anchorLabel: "Postfix ETRN flush, concurrency 1",
              anchorRun: postfixAt(1),
            },
            {
              work: `fetchmail 6.4 into smtp-sink (${fetchmailMessages} messages)`,
              ourRun: () => drainByFetchmail(fetchmailMessages, sinks.pipelining.port),
              anchorLabel: "database-free provider through the same fetchmail",
              anchorRun: async () => fetchmailMessages / (await timeFetchmail(provider.port, "any", "any", "bench.example", sinks.pipelining.port)),
            },
          ]),
      ...(link
        ? [
            {
              work: `1 session at 50 ms RTT, relay without TCP_NODELAY -> smtp-sink (PIPELINING) (${rttMessages} messages)`,
              ourRun: overRtt(1, "pipelining"),
              anchorLabel: "Postfix ETRN flush at 50 ms RTT, concurrency 1",
              anchorRun: postfixOverRtt(1, "anchorPipelining"),
            },
            {
              work: `1 session at 50 ms RTT, relay without TCP_NODELAY -> Postfix smtpd (PIPELINING, CHUNKING) (${rttMessages} messages)`,
              ourRun: overRtt(1, "receiver"),
              anchorLabel: "Postfix ETRN flush at 50 ms RTT into the same smtpd, concurrency 1",
              anchorRun: postfixIntoReceiver(1, () => ({ host: link!.nsAddress, port: farPorts.receiver, bindAddress: link!.hostAddress }), rttMessages),
            },
            {
              work: `1 session at 50 ms RTT, relay without TCP_NODELAY -> smtp-sink -p (no PIPELINING) (${rttMessages} messages)`,
              ourRun: overRtt(1, "plain"),
              anchorLabel: "Postfix ETRN flush at 50 ms RTT, concurrency 1",
              anchorRun: postfixOverRtt(1, "anchorPlain"),
            },
            {
              work: `our ETRN run at 50 ms RTT -> smtp-sink (PIPELINING) (${rttMessages} messages)`,
              ourRun: () => drainByEtrn({ host: link!.hostAddress, port: far!.mx }, `${link!.nsAddress}:${farPorts.pipelining}`, rttMessages),
              anchorLabel: "Postfix ETRN flush at 50 ms RTT, concurrency 1",
              anchorRun: postfixOverRtt(1, "anchorPipelining"),
            },
            {
              work: `4 sessions at 50 ms RTT, relay without TCP_NODELAY -> smtp-sink (${rttMessages} messages)`,
              ourRun: overRtt(4, "pipelining"),
              anchorLabel: "Postfix ETRN flush at 50 ms RTT, default concurrency",
              anchorRun: postfixOverRtt("default", "anchorPipelining"),
            },
            {
              work: `4 sessions at 50 ms RTT, relay without TCP_NODELAY -> Postfix smtpd (PIPELINING, CHUNKING) (${rttMessages} messages)`,
              ourRun: overRtt(4, "receiver"),
              anchorLabel: "Postfix ETRN flush at 50 ms RTT into the same smtpd, default concurrency",
              anchorRun: postfixIntoReceiver(
                "default",
                () => ({ host: link!.nsAddress, port: farPorts.receiver, bindAddress: link!.hostAddress }),
                rttMessages,
              ),
            },
          ]
        : []),
    ]
      .filter((r) => only === null || r.work.includes(only))
      .map((r) => ({ ...r, ours: [], anchor: [] }));
    const runs = quick ? 1 : 3;
    const load = rttOnly
      ? `${rttMessages} messages of 4 KB per run at 50 ms RTT`
      : `${messages} messages of 4 KB per run${link ? ` (${rttMessages} at 50 ms RTT)` : ""}`;
    say(`drain, ${load}, ${runs} alternated run(s) each (the idle mailer uses ${rssMb(mailer.pid!, "VmRSS").toFixed(0)} MB):`);
    const onSignal = (signal: NodeJS.Signals) => {
      restoreCongestionControl();
      link?.down();
      anchor?.stop();
      for (const child of [far?.mailer, mailer]) child?.kill("SIGKILL");
      far?.receiver.stop();
      for (const sink of [...Object.values(far?.sinks ?? {}), sinks.pipelining, sinks.plain]) sink.stop();
      receiver?.stop();
      void database.stop().finally(() => {
        if (!argv.includes("--keep")) fs.rmSync(dataDir, { recursive: true, force: true });
        process.exit(signal === "SIGINT" ? 130 : 143);
      });
    };
    process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
    try {
      await anchor?.start();
      await receiver?.start();
      if (link) {
        await link.up();
        say(`  50 ms link: namespace ${link.netns}, host end ${link.hostAddress}, namespace end ${link.nsAddress} (/30), 25 ms each way`);
        // the customer's mailer listens on the host end of the link (BIND_ADDRESS is one address)
        const farEnv = {
          ...env,
          MX_PORT: String(await freePort()),
          ODMR_PORT: String(await freePort()),
          ODMRS_PORT: String(await freePort()),
          BIND_ADDRESS: link.hostAddress,
        };
        const sinkAt = (port: number, countsTo?: string) => ({ netns: link.netns, host: link.nsAddress, port, countsTo });
        far = {
          mailer: await startMailer(farEnv),
          mx: Number(farEnv.MX_PORT),
          odmr: Number(farEnv.ODMR_PORT),
          sinks: {
            pipelining: await startSmtpSink(true, sinkAt(farPorts.pipelining)),
            plain: await startSmtpSink(false, sinkAt(farPorts.plain)),
            anchorPipelining: await startSmtpSink(true, sinkAt(farPorts.anchorPipelining, anchor?.sinkCounts("anchorPipelining") ?? undefined)),
            anchorPlain: await startSmtpSink(false, sinkAt(farPorts.anchorPlain, anchor?.sinkCounts("anchorPlain") ?? undefined)),
          },
          receiver: new PostfixReceiver({ netns: link.netns, host: link.nsAddress, port: farPorts.receiver, domains: ["bench.example", "cust.example"] }),
        };
        await far.receiver.start();
        const rtt = await link.measure(farPorts.pipelining);
        say(
          `  round-trip time across it (TCP connect from the host end, ${rtt.length} samples): median ${median(rtt).toFixed(1)} ms, min ${Math.min(...rtt).toFixed(1)}, max ${Math.max(...rtt).toFixed(1)}`,
        );
        if (median(rtt) < 45 || median(rtt) > 100) throw new Error(`the link's round-trip time is ${median(rtt).toFixed(1)} ms, not about 50`);
      }
      for (let run = 0; run < runs; run++) {
        for (const row of rows) {
          lastCpu = null;
          row.ours.push(await row.ourRun());
          const cpu = lastCpu as { mailer: number; postgres: number } | null;
          if (row.anchorRun) row.anchor.push(await row.anchorRun());
          say(
            `  run ${run + 1}: ${row.work}: ${row.ours.at(-1)!.toFixed(0)} msg/s` +
              (cpu ? ` (mailer ${cpu.mailer.toFixed(2)}, PostgreSQL ${cpu.postgres.toFixed(2)} ms CPU/msg)` : "") +
              `; ${row.anchorLabel}: ${row.anchorRun ? `${row.anchor.at(-1)!.toFixed(0)} msg/s` : "—"}`,
          );
        }
      }
    } finally {
      if (far) {
        await stopMailer(far.mailer);
        for (const sink of Object.values(far.sinks)) sink.stop();
        far.receiver.stop();
      }
      link?.down();
      process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
      anchor?.stop();
      sinks.pipelining.stop();
      sinks.plain.stop();
      receiver?.stop();
      provider.close();
    }
    say("");
    say("| work | Mailharbor msg/s | anchor | anchor msg/s | ratio |");
    say("|---|---|---|---|---|");
    for (const row of rows) {
      const ours = median(row.ours);
      const theirs = row.anchor.length ? median(row.anchor) : null;
      say(
        `| ${row.work} | ${ours.toFixed(0)} | ${row.anchorLabel} | ${theirs === null ? "—" : theirs.toFixed(0)} | ${theirs === null ? "—" : (ours / theirs).toFixed(2)} |`,
      );
    }
    say(`  mailer peak RSS: ${rssMb(mailer.pid!, "VmHWM").toFixed(0)} MB`);
    if (rttOnly || only !== null) {
      await client.end();
      return;
    }

    say(`ATRN reply latency with ${otherDeliveries.toLocaleString("en")} deliveries held for ${otherDomains.toLocaleString("en")} other domains:`);
    const loadStart = performance.now();
    await client.query(
      `
      WITH c AS (INSERT INTO customer (id, name, updated_at) VALUES (gen_random_uuid(), 'Others', now()) RETURNING id)
      INSERT INTO domain (id, name, customer_id, updated_at)
      SELECT gen_random_uuid(), 'other' || n || '.example', c.id, now() FROM c, generate_series(1, $1::int) AS n`,
      [otherDomains],
    );
    await client.query(
      `
      WITH d AS (SELECT id, customer_id, row_number() OVER (ORDER BY name) - 1 AS k FROM domain WHERE name LIKE 'other%'),
      g AS (SELECT generate_series(1, $1::int) AS n),
      m AS (INSERT INTO message (id, mail_from, size, received_at) SELECT 'O' || lpad(n::text, 15, '0'), 'sender@origin.example', 4096, now() FROM g)
      INSERT INTO delivery (message_id, domain_id, customer_id, recipient)
      SELECT 'O' || lpad(g.n::text, 15, '0'), d.id, d.customer_id, 'user@held.example' FROM g JOIN d ON d.k = g.n % $2::int`,
      [otherDeliveries, otherDomains],
    );
    await client.query("VACUUM ANALYZE");
    // the load's WAL is on disk before timing, as after each hold of the drain rows
    await client.query("CHECKPOINT");
    say(`  (loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s)`);
    const report = (label: string, samples: number[]) => {
      const sorted = [...samples].sort((a, b) => a - b);
      say(
        `  ${label}: n=${sorted.length} median ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`,
      );
    };
    const noMail = JSON.parse(await runChild(customerTask("latency-453", 1, latencySamples), env)) as SessionTimes[];
    report(
      "453 (domain without mail)",
      noMail.map((r) => r.atrnReplied - r.atrnSent),
    );
    await holdBenchMail(client, domain, customer.id, 5, offset);
    const withMail = JSON.parse(await runChild(customerTask("latency-250", 1, Math.max(50, latencySamples / 10)), env)) as SessionTimes[];
    report(
      "250 (domain with held mail)",
      withMail.map((r) => r.atrnReplied - r.atrnSent),
    );
    await client.end();
  } finally {
    restoreCongestionControl();
    await stopMailer(mailer);
    await database.stop();
    if (!argv.includes("--keep")) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench:drain: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
