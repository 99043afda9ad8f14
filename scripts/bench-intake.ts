// `npm run bench:intake`: how many messages per second the MX accepts, side by side with Postfix in the
// same run, both driven by Postfix's own load generator smtp-source (as a real peer delivers: one
// message per connection, and with -d several per connection), and the mailer's peak RSS.
// Mailharbor: its own embedded PostgreSQL cluster in a temporary directory with PostgreSQL's default
// settings (fsync and synchronous_commit on: every 250 is as durable as in production), and the real
// mailer (mailer/main.ts) as a child process. Postfix: a private instance set up by
// ../shared/bench/postfix-anchor.sh (install, setup, start, stop, cleanup; its queue is fsync'ed
// before 250 too), on its own BASE and ports so that other copies of the anchor are not disturbed.
// Each load runs against both, alternating which goes first, REPS times; the table shows medians.
// Both queues are emptied before every run. Beside each rate, the CPU time the machine spent per
// message (load generator and kernel included), and for Mailharbor how much of it was the mailer's
// and PostgreSQL's: on a small machine the rate is bounded by it. Prints figures; asserts nothing.
//
//   --quick / BENCH_QUICK=1   10 sessions of 4 KB only, both modes, one repetition, fewer messages
//   BENCH_REPS=3              repetitions per load
//   BENCH_SIZES=4096,102400   message sizes in bytes (smtp-source -l)
//   BENCH_SESSIONS=1,10,50    concurrent sessions (smtp-source -s)
//   BENCH_MODES=conn,d        conn: one message per connection; d: smtp-source -d (several per connection)
//   BENCH_N=3000              messages per run (default: 3000, 1,000 at 1 session, a third of that at 100 KB)
//   BENCH_POSTFIX=0           Mailharbor only
//   BENCH_PROFILE=DIR         write a CPU profile of the mailer into DIR (node --cpu-prof)
//   BENCH_LISTED=LOCAL        the domain lists its recipients (only LOCAL@), instead of accepting all
//   BENCH_DELIMITER=CHARS     the domain's recipient delimiter (e.g. +)
//   BENCH_TO=LOCAL            the local part smtp-source sends to (default user; e.g. user+news)
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { cpuBetween, machineCpuMs, mailerProfileFlags, postgresPids, processCpuMs } from "./bench-cpu.ts";
import { openEmbeddedDatabase } from "../lib/db/embedded-postgres.ts";
import { migrateDatabase, PROJECT_ROOT } from "../lib/db/migrate.ts";
import { freePort } from "../lib/system/free-port.ts";

const QUICK = Boolean(process.env.BENCH_QUICK) || process.argv.includes("--quick");
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 3));
const SIZES = (process.env.BENCH_SIZES ?? (QUICK ? "4096" : "4096,102400")).split(",").map(Number);
const SESSIONS = (process.env.BENCH_SESSIONS ?? (QUICK ? "10" : "1,10,50")).split(",").map(Number);
const MODES = (process.env.BENCH_MODES ?? "conn,d").split(",") as ("conn" | "d")[];
const WITH_POSTFIX = process.env.BENCH_POSTFIX !== "0";
const DOMAIN = "bench.example";
const LISTED = process.env.BENCH_LISTED;
const DELIMITER = process.env.BENCH_DELIMITER;
const TO = `${process.env.BENCH_TO ?? "user"}@${DOMAIN}`;
const ANCHOR = path.resolve(PROJECT_ROOT, "../shared/bench/postfix-anchor.sh");
/** smtp-source gives up on a run that stalls; no run of this matrix takes nearly this long */
const RUN_TIMEOUT_MS = 10 * 60_000;

function messagesPerRun(size: number, sessions: number): number {
  if (process.env.BENCH_N) return Number(process.env.BENCH_N);
  const base = QUICK ? 1000 : sessions === 1 ? 1000 : 3000;
  return size > 16384 ? Math.round(base / 3) : base;
}

function log(line: string) {
  process.stdout.write(`${line}\n`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: RUN_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")}: ${error.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout + stderr);
    });
  });
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
    // the 50-session loads come from one address and reconnect at once; Postfix exempts its
    // mynetworks (127.0.0.0/8 here) from its per-client limit the same way
    MX_MAX_CONNECTIONS_PER_IP: "1000",
  };
  const child = spawn(process.execPath, [...mailerProfileFlags(), "--import", "tsx", path.join(PROJECT_ROOT, "mailer", "main.ts")], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
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

/** A private Postfix instance from the shared anchor script, on its own directory and ports. */
interface Postfix {
  env: NodeJS.ProcessEnv;
  port: number;
  conf: string;
}

async function startPostfix(dir: string): Promise<Postfix> {
  const base = path.join(dir, "postfix");
  const port = await freePort();
  const env = { ...process.env, BASE: base, IN_PORT: String(port), SINK_PORT: String(await freePort()) };
  await run("bash", [ANCHOR, "install"], env);
  await run("bash", [ANCHOR, "setup"], env);
  await run("bash", [ANCHOR, "start"], env);
  return { env, port, conf: path.join(base, "etc") };
}

/** CPU time per message, ms: the whole machine (load generator and kernel included), and of it the mailer and PostgreSQL's processes */
interface Cpu {
  machine: number;
  mailer: number;
  postgres: number;
}

const cpuText = (cpu: Cpu) => `machine ${cpu.machine.toFixed(2)}, mailer ${cpu.mailer.toFixed(2)}, PostgreSQL ${cpu.postgres.toFixed(2)} ms CPU/msg`;

interface Load {
  sessions: number;
  size: number;
  mode: "conn" | "d";
  messages: number;
}

const loadName = (l: Load) => `-s ${l.sessions} -l ${l.size}${l.mode === "d" ? " -d" : ""}`;

/** Runs smtp-source with the load against a port; the time is until smtp-source exits (every message answered). */
async function smtpSource(port: number, load: Load, to: string): Promise<number> {
  const args = ["-s", String(load.sessions), "-m", String(load.messages), "-l", String(load.size), "-f", "sender@peer.example", "-t", to, "-M", "peer.example"];
  if (load.mode === "d") args.push("-d");
  const started = process.hrtime.bigint();
  await run("smtp-source", [...args, `127.0.0.1:${port}`]);
  return load.messages / (Number(process.hrtime.bigint() - started) / 1e9);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-bench-intake-"));
  fs.chmodSync(dir, 0o755);
  const loads: Load[] = [];
  for (const size of SIZES)
    for (const sessions of SESSIONS) for (const mode of MODES) loads.push({ size, sessions, mode, messages: messagesPerRun(size, sessions) });
  log(`bench:intake — ${os.cpus().length} CPUs, ${REPS} alternated repetitions per load, smtp-source against Mailharbor${WITH_POSTFIX ? " and Postfix" : ""}`);
  const database = await openEmbeddedDatabase(path.join(dir, "pg")); // PostgreSQL defaults: fsync=on, synchronous_commit=on
  let mailer: ChildProcess | undefined;
  let postfix: Postfix | undefined;
  try {
    await migrateDatabase(database.url);
    const client = new pg.Client({ connectionString: database.url });
    // the cluster is stopped under it when a run fails: that must not hide the run's own error
    client.on("error", () => undefined);
    await client.connect();
    const settings = await client.query("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method')");
    log(`PostgreSQL: ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(", ")}`);
    await client.query(`INSERT INTO customer (id, name, updated_at) VALUES (gen_random_uuid(), 'Bench', now())`);
    await client.query(
      `INSERT INTO domain (id, name, customer_id, recipient_policy, max_message_size, updated_at)
      SELECT gen_random_uuid(), $1, id, $2::"RecipientPolicy", 1048576, now() FROM customer WHERE name = 'Bench'`,
      [DOMAIN, LISTED ? "listed" : "accept_all"],
    );
    if (LISTED)
      await client.query(`INSERT INTO recipient (id, domain_id, address) SELECT gen_random_uuid(), id, $2 FROM domain WHERE name = $1`, [
        DOMAIN,
        `${LISTED}@${DOMAIN}`,
      ]);
    if (DELIMITER) await client.query(`UPDATE domain SET recipient_delimiter = $2 WHERE name = $1`, [DOMAIN, DELIMITER]);
    if (WITH_POSTFIX) {
      postfix = await startPostfix(dir);
      log(`Postfix: ${(await run("postconf", ["-dh", "mail_version"])).trim()}, private instance on port ${postfix.port}`);
    }
    const started = await startMailer(database.url, path.join(dir, "data"));
    mailer = started.child;
    const pid = mailer.pid!;
    const emptyQueues = async () => {
      await client.query("TRUNCATE message CASCADE");
      if (postfix) await run("postsuper", ["-c", postfix.conf, "-d", "ALL"]).catch(() => "");
    };
    // JIT, pools, caches, Postfix's process pool: a production MX runs warm (with 300 messages the
    // first repetition ran ~25% slower than the next for Mailharbor, with no such step for Postfix)
    const warmUp: Load = { sessions: 10, size: 4096, mode: "conn", messages: 3000 };
    await smtpSource(started.port, warmUp, TO);
    if (postfix) await smtpSource(postfix.port, warmUp, "user@cust.example");

    const rates = new Map<Load, { mailharbor: number[]; postfix: number[]; cpu: Cpu[]; postfixCpu: number[] }>();
    let peakRss = 0;
    for (let rep = 0; rep < REPS; rep++) {
      for (const load of loads) {
        const r = rates.get(load) ?? { mailharbor: [], postfix: [], cpu: [], postfixCpu: [] };
        rates.set(load, r);
        const measureMailharbor = async () => {
          await emptyQueues();
          const rssAtStart = rssBytes(pid);
          let peak = rssAtStart;
          const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 25);
          const before = { machine: machineCpuMs(), mailer: processCpuMs([pid]), postgres: processCpuMs(await postgresPids(client)) };
          const rate = await smtpSource(started.port, load, TO).finally(() => clearInterval(sampler));
          r.cpu.push({
            machine: (machineCpuMs() - before.machine) / load.messages,
            mailer: cpuBetween(before.mailer, processCpuMs([pid])) / load.messages,
            postgres: cpuBetween(before.postgres, processCpuMs(await postgresPids(client))) / load.messages,
          });
          const stored = Number((await client.query("SELECT count(*) AS n FROM message")).rows[0].n);
          if (stored !== load.messages) throw new Error(`${loadName(load)}: smtp-source sent ${load.messages}, Mailharbor stored ${stored}`);
          if (load.sessions === 50 && load.size >= 102400) peakRss = Math.max(peakRss, peak);
          r.mailharbor.push(rate);
        };
        const measurePostfix = async () => {
          if (!postfix) return;
          await emptyQueues();
          const before = machineCpuMs();
          r.postfix.push(await smtpSource(postfix.port, load, "user@cust.example"));
          r.postfixCpu.push((machineCpuMs() - before) / load.messages);
        };
        // alternate which server goes first, so neither always runs on a cooler or warmer machine
        if (rep % 2 === 0) {
          await measureMailharbor();
          await measurePostfix();
        } else {
          await measurePostfix();
          await measureMailharbor();
        }
        log(
          `  rep ${rep + 1} ${loadName(load).padEnd(22)} ${load.messages} msgs  Mailharbor ${r.mailharbor.at(-1)!.toFixed(0)} msg/s (${cpuText(r.cpu.at(-1)!)})` +
            (postfix ? `  Postfix ${r.postfix.at(-1)!.toFixed(0)} msg/s (machine ${r.postfixCpu.at(-1)!.toFixed(2)} ms CPU/msg)` : ""),
        );
      }
    }
    log("");
    log(
      `| load (smtp-source flags) | Mailharbor msg/s | Postfix msg/s | ratio | machine CPU ms/msg, Mailharbor (mailer + PostgreSQL) | machine CPU ms/msg, Postfix |`,
    );
    log(`|---|---|---|---|---|---|`);
    for (const [load, r] of rates) {
      const mh = median(r.mailharbor);
      const pf = r.postfix.length ? median(r.postfix) : NaN;
      const cpu = `${median(r.cpu.map((c) => c.machine)).toFixed(2)} (${median(r.cpu.map((c) => c.mailer)).toFixed(2)} + ${median(r.cpu.map((c) => c.postgres)).toFixed(2)})`;
      const none = Number.isNaN(pf);
      log(
        `| ${loadName(load)} -m ${load.messages} | ${mh.toFixed(0)} | ${none ? "—" : pf.toFixed(0)} | ${none ? "—" : (mh / pf).toFixed(2)} | ${cpu} | ${none ? "—" : median(r.postfixCpu).toFixed(2)} |`,
      );
    }
    log("");
    if (peakRss) log(`peak mailer RSS during the runs at 50 sessions of 100 KB: ${(peakRss / 1024 / 1024).toFixed(0)} MB`);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    log(`mailer peak RSS over the whole run (VmHWM): ${(Number(hwm) / 1024).toFixed(0)} MB`);
    await client.end();
  } finally {
    if (mailer && mailer.exitCode === null) {
      const exited = new Promise((r) => mailer!.once("exit", r));
      mailer.kill("SIGTERM");
      await exited;
    }
    if (postfix) await run("bash", [ANCHOR, "cleanup"], postfix.env).catch((error: Error) => log(`postfix cleanup: ${error.message}`));
    await database.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench:intake: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
