// `npm run bench:drain [-- --quick]`: how fast held mail leaves through ATRN.
//
// Starts its own embedded PostgreSQL (default durability: fsync on) and the real mailer, holds N
// messages of 4 KB for one domain, and drains them with ATRN from a separate customer process
// whose receiver accepts everything: one session, then four concurrent sessions for one domain.
// Prints messages per second, the time from ATRN to the first MAIL, and the mailer's peak RSS.
// Then holds 1,000,000 deliveries for 10,000 other domains and measures the ATRN reply latency
// (453 for an empty domain, 250 for one with held mail). Postfix's ETRN flush of 4 KB messages to
// a local sink with 20 connections delivers about 1,900 messages/s on this kind of machine.
//
// Options: --quick (fewer messages, 100,000 other deliveries), --messages N, --keep (keep the
// temporary data directory). Run as the customer: --customer <json> (internal).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { cramMd5Digest } from "../lib/auth/cram-md5.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------------------------------------
// The customer: ODMR client, then a minimal SMTP sink on the same connection (like Postfix's
// smtp-sink: PIPELINING, answers without looking at the content).

interface CustomerTask {
  port: number;
  login: string;
  secret: string;
  domain: string;
  mode: "drain" | "latency-453" | "latency-250";
  sessions: number;
  /** latency modes: ATRN commands (453) or sessions (250) to time */
  samples: number;
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

/** The SMTP sink; resolves with its counts when the provider closes. */
function sink(socket: net.Socket, pending: Buffer, defer: boolean): Promise<Omit<SessionTimes, "atrnSent" | "atrnReplied">> {
  return new Promise((resolve) => {
    const times = { firstMail: null as number | null, lastMessage: null as number | null, messages: 0 };
    let buffer = pending;
    let data = false;
    let accepted = 0;
    const END = Buffer.from("\r\n.\r\n");
    const onData = (chunk?: Buffer) => {
      if (chunk) buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      const out: string[] = [];
      for (;;) {
        if (data) {
          const end = buffer.indexOf(END);
          if (end < 0) {
            // keep the tail, where the terminator may begin
            if (buffer.length > 4) buffer = buffer.subarray(buffer.length - 4);
            break;
          }
          buffer = buffer.subarray(end + END.length);
          data = false;
          times.messages++;
          times.lastMessage = performance.now();
          out.push("250 2.0.0 Ok: queued");
          continue;
        }
        const nl = buffer.indexOf(10);
        if (nl < 0) break;
        const line = buffer.subarray(0, nl).toString("latin1").replace(/\r$/, "");
        buffer = buffer.subarray(nl + 1);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") out.push("250-sink.bench.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 104857600");
        else if (verb === "MAIL") {
          times.firstMail ??= performance.now();
          accepted = 0;
          out.push("250 2.1.0 Ok");
        } else if (verb === "RCPT") {
          if (defer) out.push("450 4.2.0 Try again later");
          else {
            accepted++;
            out.push("250 2.1.5 Ok");
          }
        } else if (verb === "DATA") {
          if (accepted === 0) out.push("554 5.5.1 No valid recipients");
          else {
            data = true;
            // RFC 5321: the data may begin with the line right after DATA
            buffer = Buffer.concat([Buffer.from("\r\n"), buffer]);
            out.push("354 End data with <CR><LF>.<CR><LF>");
          }
        } else if (verb === "QUIT") {
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

async function customerSession(task: CustomerTask, atrns = 1): Promise<SessionTimes[]> {
  const socket = net.connect(task.port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
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
      const counts = await sink(socket, reader.detach(), task.mode === "latency-250");
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
  if (task.mode === "drain") {
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
// The harness.

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`customer exited with ${code}`))));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds used by the PostgreSQL server: the postmaster and its live children. */
function postgresCpuSeconds(postmaster: number): number {
  let total = cpuSeconds(postmaster);
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Resident memory (VmRSS) or its peak so far (VmHWM), in MB. */
function rssMb(pid: number, which: "VmRSS" | "VmHWM"): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${which}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
}

const say = (line: string) => process.stdout.write(line + "\n");

async function holdBenchMail(client: pg.Client, domainId: string, customerId: string, count: number, offset: number): Promise<void> {
  // 4 KB messages: a few headers and a body of hex lines
  await client.query(`
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
    SELECT 'B' || lpad(n::text, 15, '0'), $1::uuid, $2::uuid, 'user' || (n % 10) || '@bench.example' FROM g`,
  [domainId, customerId, offset, count]);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const customerIndex = argv.indexOf("--customer");
  if (customerIndex >= 0) return runCustomer(JSON.parse(argv[customerIndex + 1]) as CustomerTask);

  const quick = argv.includes("--quick");
  const messagesArg = argv.indexOf("--messages");
  const messages = messagesArg >= 0 ? Number(argv[messagesArg + 1]) : quick ? 2000 : 20_000;
  const otherDeliveries = quick ? 100_000 : 1_000_000;
  const otherDomains = quick ? 1_000 : 10_000;
  const latencySamples = quick ? 200 : 1000;

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-bench-"));
  fs.chmodSync(dataDir, 0o755);
  process.env.MAILHARBOR_DATA_DIR = dataDir;
  const { openEmbeddedDatabase } = await import("../lib/db/embedded-postgres.ts");
  const { migrateDatabase } = await import("../lib/db/migrate.ts");
  say(`bench:drain ${quick ? "(quick) " : ""}— ${messages} messages of 4 KB; PostgreSQL with default durability in ${dataDir}`);
  const database = await openEmbeddedDatabase(dataDir);
  let mailer: ChildProcess | null = null;
  try {
    await migrateDatabase(database.url);
    process.env.DATABASE_URL = database.url;
    const { CLI_ACTOR } = await import("../lib/actor.ts");
    const { createCustomer } = await import("../lib/customers/customers.ts");
    const { createDomain } = await import("../lib/domains/domains.ts");
    const { createLogin } = await import("../lib/logins/logins.ts");
    const { closeDb } = await import("../lib/db/client.ts");
    const customer = await createCustomer(CLI_ACTOR, { name: "Bench" });
    const domain = await createDomain(CLI_ACTOR, { customer: customer.id, name: "bench.example", recipientPolicy: "accept_all" });
    const secret = "bench-secret-0123456789";
    await createLogin(CLI_ACTOR, { customer: customer.id, login: "bench", secret });
    await closeDb();

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();

    const ports = { mx: await freePort(), odmr: await freePort(), odmrs: await freePort() };
    const env = {
      ...process.env, DATABASE_URL: database.url, MAILHARBOR_DATA_DIR: dataDir, LOG_LEVEL: "info",
      MX_PORT: String(ports.mx), ODMR_PORT: String(ports.odmr), ODMRS_PORT: String(ports.odmrs),
      BIND_ADDRESS: "127.0.0.1", MAIL_HOSTNAME: "mx.bench.example", ATRN_RATE_PER_MINUTE: "1000000",
    };
    mailer = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "mailer", "main.ts")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      let buffer = "";
      mailer!.stdout!.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        if (buffer.includes('"mailer ready"')) resolve();
        if (buffer.length > 1_000_000) buffer = buffer.slice(-1000);
      });
      mailer!.once("exit", (code) => reject(new Error(`mailer exited with ${code}`)));
    });
    const customerTask = (mode: CustomerTask["mode"], sessions: number, samples = 0): string[] =>
      [path.join(ROOT, "scripts", "bench-drain.ts"), "--customer", JSON.stringify({ port: ports.odmr, login: "bench", secret, domain: "bench.example", mode, sessions, samples } satisfies CustomerTask)];

    const drain = async (label: string, sessions: number, offset: number) => {
      await holdBenchMail(client, domain.id, customer.id, messages, offset);
      await client.query("CHECKPOINT");
      await client.query("VACUUM ANALYZE delivery");
      const cpuBefore = { mailer: cpuSeconds(mailer!.pid!), postgres: postgresCpuSeconds(database.pid) };
      const results = JSON.parse(await runChild(customerTask("drain", sessions), env)) as SessionTimes[];
      const cpu = { mailer: cpuSeconds(mailer!.pid!) - cpuBefore.mailer, postgres: postgresCpuSeconds(database.pid) - cpuBefore.postgres };
      const received = results.reduce((n, r) => n + r.messages, 0);
      const start = Math.min(...results.map((r) => r.atrnSent));
      const end = Math.max(...results.map((r) => r.lastMessage ?? r.atrnSent));
      const firstMail = Math.min(...results.map((r) => (r.firstMail ?? Infinity) - r.atrnSent));
      const { rows } = await client.query("SELECT count(*)::int AS n FROM delivery WHERE domain_id = $1 AND state = 'delivered'", [domain.id]);
      say(`  ${label}: ${received} messages in ${((end - start) / 1000).toFixed(2)} s = ${Math.round(received / ((end - start) / 1000))} messages/s` +
        ` (per session: ${results.map((r) => r.messages).join(", ")}); ATRN → first MAIL ${firstMail.toFixed(1)} ms; delivered in the database: ${rows[0].n - offset}`);
      say(`      CPU: mailer ${cpu.mailer.toFixed(2)} s, PostgreSQL ${cpu.postgres.toFixed(2)} s (${(1000 * (cpu.mailer + cpu.postgres) / received).toFixed(3)} ms per message)`);
    };
    say(`drain (the idle mailer uses ${rssMb(mailer.pid!, "VmRSS").toFixed(0)} MB):`);
    await drain("1 session ", 1, 0);
    await drain("4 sessions", 4, messages);
    say(`  mailer peak RSS: ${rssMb(mailer.pid!, "VmHWM").toFixed(0)} MB`);

    say(`ATRN reply latency with ${otherDeliveries.toLocaleString("en")} deliveries held for ${otherDomains.toLocaleString("en")} other domains:`);
    const loadStart = performance.now();
    await client.query(`
      WITH c AS (INSERT INTO customer (id, name, updated_at) VALUES (gen_random_uuid(), 'Others', now()) RETURNING id)
      INSERT INTO domain (id, name, customer_id, updated_at)
      SELECT gen_random_uuid(), 'other' || n || '.example', c.id, now() FROM c, generate_series(1, $1::int) AS n`, [otherDomains]);
    await client.query(`
      WITH d AS (SELECT id, customer_id, row_number() OVER (ORDER BY name) - 1 AS k FROM domain WHERE name LIKE 'other%'),
      g AS (SELECT generate_series(1, $1::int) AS n),
      m AS (INSERT INTO message (id, mail_from, size, received_at) SELECT 'O' || lpad(n::text, 15, '0'), 'sender@origin.example', 4096, now() FROM g)
      INSERT INTO delivery (message_id, domain_id, customer_id, recipient)
      SELECT 'O' || lpad(g.n::text, 15, '0'), d.id, d.customer_id, 'user@held.example' FROM g JOIN d ON d.k = g.n % $2::int`,
    [otherDeliveries, otherDomains]);
    await client.query("VACUUM ANALYZE");
    say(`  (loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s)`);
    const report = (label: string, samples: number[]) => {
      const sorted = [...samples].sort((a, b) => a - b);
      say(`  ${label}: n=${sorted.length} median ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`);
    };
    const noMail = JSON.parse(await runChild(customerTask("latency-453", 1, latencySamples), env)) as SessionTimes[];
    report("453 (domain without mail)", noMail.map((r) => r.atrnReplied - r.atrnSent));
    await holdBenchMail(client, domain.id, customer.id, 5, 2 * messages);
    const withMail = JSON.parse(await runChild(customerTask("latency-250", 1, Math.max(50, latencySamples / 10)), env)) as SessionTimes[];
    report("250 (domain with held mail)", withMail.map((r) => r.atrnReplied - r.atrnSent));
    await client.end();
  } finally {
    if (mailer && mailer.exitCode === null) {
      mailer.kill("SIGTERM");
      await new Promise((resolve) => mailer!.once("exit", resolve));
    }
    await database.stop();
    if (!argv.includes("--keep")) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench:drain: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
