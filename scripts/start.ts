// `npm start`: the whole service on one machine. Validates the configuration, takes the data
// directory, opens the database (embedded when DATABASE_URL is unset) and migrates it, creates the
// first staff user, builds the portal if there is no build, then runs the portal and the mailer
// and stops everything cleanly on Ctrl-C or SIGTERM.
//
// While it runs it supervises what it started. The embedded PostgreSQL is started again when it
// dies, on the same port, so the mailer's and the portal's pools reconnect on their own (pg drops a
// broken connection and opens a new one on the next query); crash recovery is PostgreSQL's own
// replay of its write-ahead log, so everything the MX answered 250 to is still there. A component
// that dies after it was once ready is started again after 1, 2, 4 … 30 s; one that dies before it
// was ever ready is a start failure (a port in use, say) and stops the service with its message.
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CLI_ACTOR } from "../lib/actor.ts";
import { getServerKey, loadOrCreateSecretFile } from "../lib/auth/secret-box.ts";
import { loadConfig, type Config } from "../lib/config/config.ts";
import { closeDatabase } from "../lib/db/close-database.ts";
import { openEmbeddedDatabase, serverAlive } from "../lib/db/embedded-postgres.ts";
import { PROJECT_ROOT } from "../lib/db/migrate.ts";
import { openDatabase } from "../lib/db/open-database.ts";
import { acquireServiceLock } from "../lib/db/service-lock.ts";
import { isMailharborError } from "../lib/errors.ts";
import { logger } from "../lib/log/logger.ts";
import { countStaffUsers, createPortalUser } from "../lib/users/users.ts";

const NEXT_BIN = path.join(PROJECT_ROOT, "node_modules", "next", "dist", "bin", "next");
const log = logger.child({ component: "supervisor" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often the supervisor looks whether the embedded PostgreSQL still runs. */
const DB_CHECK_MS = 500;
/** A component that ran this long before it died starts again from the shortest delay. */
const STABLE_MS = 60_000;
/** The delay before the nth restart in a row: 1, 2, 4, 8, 16, 30, 30 … s, so a crash loop does not spin. */
const restartDelayMs = (failures: number) => Math.min(30, 2 ** (failures - 1)) * 1000;

interface Component {
  name: "mailer" | "portal";
  script: string;
  child?: ChildProcess;
  /** it said "ready" once: from then on an exit is a crash to recover from, not a start failure */
  everReady: boolean;
  failures: number;
  startedAt: number;
  restartTimer?: NodeJS.Timeout;
}

function say(line: string) {
  process.stdout.write(`mailharbor: ${line}\n`);
}

/** NEXTAUTH_SECRET from the environment, or generated once into the data directory. */
function authSecret(config: Config): string {
  // the server key is read here too, so that a key file others can read stops the start, by name
  getServerKey();
  if (config.NEXTAUTH_SECRET) return config.NEXTAUTH_SECRET;
  return loadOrCreateSecretFile(path.join(config.dataDir, "nextauth.secret"), () => crypto.randomBytes(32).toString("hex") + "\n").trim();
}

async function bootstrapStaff(config: Config): Promise<void> {
  if ((await countStaffUsers()) > 0) return;
  const email = config.INITIAL_ADMIN_EMAIL;
  const { password } = await createPortalUser(CLI_ACTOR, { email, role: "staff" });
  say("created the first staff user (a one-time password, shown once: the portal asks for a new one at the first login):");
  say(`  portal:   http://localhost:${config.PORT}/login`);
  say(`  e-mail:   ${email}`);
  say(`  password: ${password}`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(args[0] ?? command)} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const releaseLock = acquireServiceLock(config.dataDir);
  const portal = config.MAILHARBOR_COMPONENTS.includes("portal");
  const mailer = config.MAILHARBOR_COMPONENTS.includes("mailer");
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  let env: NodeJS.ProcessEnv;
  try {
    database = await openDatabase(config, { adopt: true });
    say(database.server ? `embedded PostgreSQL in ${database.server.cluster}` : "using DATABASE_URL");
    await bootstrapStaff(config);
    await closeDatabase();
    env = {
      ...process.env,
      DATABASE_URL: database.url,
      MAILHARBOR_DATA_DIR: config.dataDir,
      NEXTAUTH_SECRET: authSecret(config),
      NEXTAUTH_URL: config.NEXTAUTH_URL ?? `http://localhost:${config.PORT}`,
      NEXT_TELEMETRY_DISABLED: "1",
    };
    if (portal && !fs.existsSync(path.join(PROJECT_ROOT, ".next", "BUILD_ID"))) {
      say("building the portal (first start only)…");
      await run(process.execPath, [NEXT_BIN, "build"], { ...env, NODE_ENV: "production" });
    }
  } catch (error) {
    await database?.stop();
    releaseLock();
    throw error;
  }
  let db = database;
  const components: Component[] = [];
  if (mailer) components.push({ name: "mailer", script: path.join(PROJECT_ROOT, "mailer", "main.ts"), everReady: false, failures: 0, startedAt: 0 });
  if (portal) components.push({ name: "portal", script: path.join(PROJECT_ROOT, "scripts", "portal-server.ts"), everReady: false, failures: 0, startedAt: 0 });

  let stopping = false;
  let databaseRestart: Promise<void> | undefined;
  const shutdown = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason})`);
    for (const c of components) clearTimeout(c.restartTimer);
    const children = components.map((c) => c.child).filter((c): c is ChildProcess => c !== undefined);
    const exited = children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((r) => c.once("exit", r)));
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    const grace = (config.SHUTDOWN_GRACE_SECONDS + 10) * 1000;
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, grace))]);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await databaseRestart; // a server being started again is stopped too, not left behind
    await db.stop();
    releaseLock();
    say("stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));

  const start = (c: Component) => {
    // the IPC channel carries the component's "ready", and its closing tells a component whose
    // supervisor was killed to stop rather than hold the ports on its own
    const child = spawn(process.execPath, ["--import", "tsx", c.script], {
      cwd: PROJECT_ROOT,
      env: { ...env, MAILHARBOR_COMPONENT: c.name },
      stdio: ["inherit", "inherit", "inherit", "ipc"],
    });
    c.child = child;
    c.startedAt = Date.now();
    child.on("message", (message) => {
      if (message !== "ready") return;
      if (c.everReady) log.info({ code: "COMPONENT_RESTARTED", component: c.name, pid: child.pid }, `${c.name} is running again`);
      c.everReady = true;
    });
    child.on("exit", (code, signal) => {
      if (stopping) return;
      if (!c.everReady) return void shutdown(`${c.name} exited with ${signal ?? code}`, 1);
      c.failures = Date.now() - c.startedAt >= STABLE_MS ? 1 : c.failures + 1;
      const delay = restartDelayMs(c.failures);
      log.error({ code: "COMPONENT_EXITED", component: c.name, exit: signal ?? code, restartInSeconds: delay / 1000 }, `${c.name} exited; starting it again`);
      c.restartTimer = setTimeout(() => start(c), delay);
    });
  };

  /** Starts the embedded PostgreSQL again until it runs; the same port first, then any port. */
  const restartDatabase = async (diedPid: number) => {
    const since = Date.now();
    const port = Number(new URL(db.url).port);
    log.error({ code: "DB_DIED", pid: diedPid }, "the embedded PostgreSQL died; starting it again");
    for (let attempt = 1; !stopping; attempt++) {
      try {
        // adopt: one that a CLI command started meanwhile is ours to stop on shutdown
        const again = await openEmbeddedDatabase(config.dataDir, { adopt: true, port: attempt <= 5 ? port : undefined });
        db = { url: again.url, embedded: true, server: { pid: again.pid, cluster: again.cluster }, stop: again.stop };
        log.info({ code: "DB_RESTARTED", pid: again.pid, seconds: (Date.now() - since) / 1000 }, "the embedded PostgreSQL runs again");
        if (again.url !== env.DATABASE_URL) {
          // on another port now: the components must start again to learn it
          log.warn({ code: "DB_URL_CHANGED", port: new URL(again.url).port }, "the embedded PostgreSQL moved to another port; restarting the components");
          env = { ...env, DATABASE_URL: again.url };
          for (const c of components) c.child?.kill("SIGTERM");
        }
        return;
      } catch (error) {
        // typically the old server's backends still hold its shared memory for a moment
        log.error({ code: "DB_RESTART_FAILED", attempt, err: (error as Error).message }, "the embedded PostgreSQL did not start; trying again");
        await sleep(Math.min(5000, 500 * attempt));
      }
    }
  };
  const superviseDatabase = async () => {
    while (!stopping) {
      await sleep(DB_CHECK_MS);
      const pid = db.server?.pid;
      if (stopping || pid === undefined || serverAlive(pid)) continue;
      databaseRestart = restartDatabase(pid);
      await databaseRestart;
      databaseRestart = undefined;
    }
  };
  if (db.server) void superviseDatabase();

  for (const c of components) start(c);
  if (mailer) say(`mailer: MX on ${config.MX_PORT}, ODMR on ${config.ODMR_PORT}, ODMR with TLS on ${config.ODMRS_PORT}`);
  if (portal) say(`portal on http://localhost:${config.PORT}`);
}

main().catch((error) => {
  process.stderr.write(`mailharbor: ${isMailharborError(error) ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
