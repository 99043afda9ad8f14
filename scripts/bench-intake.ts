// `npm run bench:intake`: how many messages per second the MX accepts, and the mailer's peak RSS.
// Builds its own embedded PostgreSQL cluster in a temporary directory with PostgreSQL's default
// settings (fsync and synchronous_commit on: every 250 is as durable as in production), runs the
// real mailer (mailer/main.ts) as a child process, and sends from this process over K concurrent
// SMTP sessions, each pipelining MAIL, RCPT and DATA and waiting for 250 before its next message.
// Prints figures; asserts nothing.
//
//   BENCH_QUICK=1           fewer messages per run (finishes in well under two minutes)
//   BENCH_N=2000            messages per run
//   BENCH_SIZES=1024,4096   message sizes in bytes
//   BENCH_SESSIONS=1,10,50  concurrent sessions
//   BENCH_PROFILE=DIR       write a CPU profile of the mailer into DIR (node --cpu-prof)
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { openEmbeddedDatabase } from "../lib/db/embedded-postgres.ts";
import { migrateDatabase, PROJECT_ROOT } from "../lib/db/migrate.ts";
import { freePort } from "../lib/system/free-port.ts";

const QUICK = Boolean(process.env.BENCH_QUICK);
const N = Number(process.env.BENCH_N ?? (QUICK ? 1000 : 3000));
const SIZES = (process.env.BENCH_SIZES ?? "1024,4096,102400").split(",").map(Number);
const SESSIONS = (process.env.BENCH_SESSIONS ?? "1,10,50").split(",").map(Number);
const DOMAIN = "bench.example";

function log(line: string) {
  process.stdout.write(`${line}\n`);
}

/** A message of about `size` bytes: a few header fields and 76-character lines. */
function buildMessage(size: number, n: number): Buffer {
  const head = `From: Bench <bench@client.example>\r\nTo: <user@${DOMAIN}>\r\nSubject: bench ${size} #${n}\r\n`
    + `Message-ID: <${n}.${size}@client.example>\r\nDate: ${new Date().toUTCString().replace("GMT", "+0000")}\r\n\r\n`;
  const line = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijkl\r\n";
  const body = line.repeat(Math.max(1, Math.ceil((size - head.length) / line.length)));
  return Buffer.from(head + body + ".\r\n");
}

async function startMailer(databaseUrl: string, dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    MAILHARBOR_DATA_DIR: dataDir,
    MX_PORT: String(port),
    ODMR_PORT: String(await freePort()),
    ODMRS_PORT: String(await freePort()),
    BIND_ADDRESS: "127.0.0.1",
    MAIL_HOSTNAME: "mx.bench.example",
    LOG_LEVEL: "info",
  };
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE)}`] : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", path.join(PROJECT_ROOT, "mailer", "main.ts")], { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    let buffer = "";
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      if (buffer.includes('"msg":"mailer ready"')) {
        buffer = "";
        resolve();
      } else if (buffer.length > 1_000_000) buffer = buffer.slice(-10_000);
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`mailer exited with ${code}`)));
  });
  // keep reading its log lines (as a log collector would), but nothing more
  child.stdout!.removeAllListeners("data");
  child.stdout!.resume();
  return { child, port };
}

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** One SMTP session that sends `count` messages, pipelining MAIL, RCPT and DATA (RFC 2920). */
async function session(port: number, messages: Buffer[], count: () => number | null): Promise<number> {
  const socket = net.connect({ port, host: "127.0.0.1" });
  socket.setNoDelay(true);
  let buffer = "";
  let waiting: { lines: number; resolve: (lines: string[]) => void; reject: (error: Error) => void; got: string[] } | null = null;
  socket.on("error", (error) => waiting?.reject(error));
  const pump = () => {
    let nl: number;
    while (waiting && (nl = buffer.indexOf("\r\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      if (line[3] === "-") continue; // continuation of a multi-line reply
      waiting.got.push(line);
      if (waiting.got.length === waiting.lines) {
        const w = waiting;
        waiting = null;
        w.resolve(w.got);
      }
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("latin1");
    pump();
  });
  const replies = (lines: number, send?: string | Buffer) => new Promise<string[]>((resolve, reject) => {
    waiting = { lines, resolve, reject, got: [] };
    if (send) socket.write(send);
    pump();
  });
  await replies(1);
  await replies(1, "EHLO client.example\r\n");
  let sent = 0;
  for (let n = count(); n !== null; n = count()) {
    const envelope = await replies(3, `MAIL FROM:<bench@client.example>\r\nRCPT TO:<user${n % 100}@${DOMAIN}>\r\nDATA\r\n`);
    if (!envelope[0].startsWith("250") || !envelope[1].startsWith("250") || !envelope[2].startsWith("354")) throw new Error(`refused: ${envelope.join(" | ")}`);
    const [done] = await replies(1, messages[n % messages.length]);
    if (!done.startsWith("250 ")) throw new Error(`not queued: ${done}`);
    sent++;
  }
  await replies(1, "QUIT\r\n");
  socket.end();
  return sent;
}

async function run(port: number, pid: number, size: number, sessions: number, total: number) {
  const messages = Array.from({ length: 16 }, (_, i) => buildMessage(size, i));
  let next = 0;
  const count = () => (next < total ? next++ : null);
  let peak = rssBytes(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 25);
  const started = process.hrtime.bigint();
  const sent = (await Promise.all(Array.from({ length: sessions }, () => session(port, messages, count)))).reduce((a, b) => a + b, 0);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(pid));
  return { sent, seconds, rate: sent / seconds, peakMb: peak / 1024 / 1024, bytes: messages[0].length - 3 };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-bench-intake-"));
  fs.chmodSync(dir, 0o755);
  log(`bench:intake — ${os.cpus().length} CPUs, ${N} messages per run, sizes ${SIZES.join("/")} B, sessions ${SESSIONS.join("/")}`);
  const database = await openEmbeddedDatabase(path.join(dir, "pg")); // PostgreSQL defaults: fsync=on, synchronous_commit=on
  let mailer: ChildProcess | undefined;
  try {
    await migrateDatabase(database.url);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const settings = await client.query("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method')");
    log(`PostgreSQL: ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(", ")}`);
    await client.query(`INSERT INTO customer (id, name, updated_at) VALUES (gen_random_uuid(), 'Bench', now())`);
    await client.query(`INSERT INTO domain (id, name, customer_id, recipient_policy, max_message_size, updated_at)
      SELECT gen_random_uuid(), $1, id, 'accept_all', 1048576, now() FROM customer WHERE name = 'Bench'`, [DOMAIN]);

    const started = await startMailer(database.url, path.join(dir, "data"));
    mailer = started.child;
    const pid = mailer.pid!;
    await run(started.port, pid, 4096, 10, Math.min(300, N)); // warm-up: JIT, pools, caches
    log("");
    log("   size  sessions  messages   seconds    msg/s   peak RSS MB");
    for (const size of SIZES) {
      for (const sessions of SESSIONS) {
        const before = Number((await client.query("SELECT count(*) AS n FROM message")).rows[0].n);
        const r = await run(started.port, pid, size, sessions, N);
        const stored = Number((await client.query("SELECT count(*) AS n FROM message")).rows[0].n) - before;
        log(`${String(r.bytes).padStart(7)} ${String(sessions).padStart(9)} ${String(r.sent).padStart(9)} ${r.seconds.toFixed(2).padStart(9)} ${r.rate.toFixed(0).padStart(8)} ${r.peakMb.toFixed(0).padStart(13)}${stored === r.sent ? "" : `   (stored ${stored}!)`}`);
      }
    }
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    log("");
    log(`mailer peak RSS over the whole run (VmHWM): ${(Number(hwm) / 1024).toFixed(0)} MB`);
    await client.end();
  } finally {
    if (mailer && mailer.exitCode === null) {
      const exited = new Promise((r) => mailer!.once("exit", r));
      mailer.kill("SIGTERM");
      await exited;
    }
    await database.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench:intake: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
