// `npm start`: the whole service on one machine. Validates the configuration, takes the data
// directory, opens the database (embedded when DATABASE_URL is unset) and migrates it, creates the
// first staff user, builds the portal if there is no build, then runs the portal and the mailer
// and stops everything cleanly on Ctrl-C or SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CLI_ACTOR } from "../lib/actor.ts";
import { getServerKey, loadOrCreateSecretFile } from "../lib/auth/secret-box.ts";
import { loadConfig, type Config } from "../lib/config/config.ts";
import { closeDb } from "../lib/db/client.ts";
import { PROJECT_ROOT } from "../lib/db/migrate.ts";
import { openDatabase } from "../lib/db/open-database.ts";
import { acquireServiceLock } from "../lib/db/service-lock.ts";
import { isMailharborError } from "../lib/errors.ts";
import { countStaffUsers, createPortalUser } from "../lib/users/users.ts";

const NEXT_BIN = path.join(PROJECT_ROOT, "node_modules", "next", "dist", "bin", "next");

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
  const email = process.env.INITIAL_ADMIN_EMAIL || "admin@mailharbor.local";
  const { password } = await createPortalUser(CLI_ACTOR, { email, role: "staff" });
  say("created the first staff user (shown once; change the password after logging in):");
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
    database = await openDatabase({ dataDir: config.dataDir, adopt: true });
    say(database.server ? `embedded PostgreSQL in ${database.server.cluster}` : "using DATABASE_URL");
    await bootstrapStaff(config);
    await closeDb();
    env = {
      ...process.env,
      DATABASE_URL: database.url,
      MAILHARBOR_DATA_DIR: config.dataDir,
      NEXTAUTH_SECRET: authSecret(config),
      NEXTAUTH_URL: process.env.NEXTAUTH_URL || `http://localhost:${config.PORT}`,
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
  const db = database;

  const children: ChildProcess[] = [];
  let stopping = false;
  const shutdown = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason})`);
    const exited = children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((r) => c.once("exit", r)));
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    const grace = (config.SHUTDOWN_GRACE_SECONDS + 10) * 1000;
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, grace))]);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await db.stop();
    releaseLock();
    say("stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));

  const start = (name: string, args: string[]) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...env, MAILHARBOR_COMPONENT: name }, stdio: "inherit" });
    child.on("exit", (code, signal) => {
      if (!stopping) void shutdown(`${name} exited with ${signal ?? code}`, 1);
    });
    children.push(child);
  };
  if (mailer) {
    start("mailer", ["--import", "tsx", path.join(PROJECT_ROOT, "mailer", "main.ts")]);
    say(`mailer: MX on ${config.MX_PORT}, ODMR on ${config.ODMR_PORT}, ODMR with TLS on ${config.ODMRS_PORT}`);
  }
  if (portal) {
    start("portal", ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", "portal-server.ts")]);
    say(`portal on http://localhost:${config.PORT}`);
  }
}

main().catch((error) => {
  process.stderr.write(`mailharbor: ${isMailharborError(error) ? error.message : (error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
