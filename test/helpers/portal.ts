// Builds the portal once (only when .next is missing or older than its sources) and runs the
// portal's server (scripts/portal-server.ts, as `npm start` does) on a free port against this test
// file's database and data directory.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./free-port.ts";
import { PROJECT_ROOT } from "./project-root.ts";
import { sleep } from "./sleep.ts";

const NEXT_BIN = path.join(PROJECT_ROOT, "node_modules", "next", "dist", "bin", "next");
const BUILD_ID = path.join(PROJECT_ROOT, ".next", "BUILD_ID");
const SOURCES = ["app", "lib", "public", "proxy.ts", "next.config.js", "postcss.config.mjs", "package-lock.json", "tsconfig.json"];

function newestMtime(entry: string): number {
  const stat = fs.statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const child of fs.readdirSync(entry)) {
    if (child === "generated" || child === "node_modules") continue;
    newest = Math.max(newest, newestMtime(path.join(entry, child)));
  }
  return newest;
}

function buildIsCurrent(): boolean {
  const built = fs.statSync(BUILD_ID, { throwIfNoEntry: false });
  return Boolean(built) && Math.max(...SOURCES.map((s) => newestMtime(path.join(PROJECT_ROOT, s)))) < built!.mtimeMs;
}

/** `next build` unless the build is up to date; one builder at a time across test workers. */
export async function ensurePortalBuilt(): Promise<void> {
  const lock = path.join(os.tmpdir(), `mailharbor-next-build-${crypto.createHash("sha1").update(PROJECT_ROOT).digest("hex").slice(0, 12)}.lock`);
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // another worker is building; a lock older than 15 minutes is left from a killed run
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 15 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      await sleep(500);
    }
  }
  try {
    if (buildIsCurrent()) return;
    const result = spawnSync(process.execPath, [NEXT_BIN, "build"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
      encoding: "utf8",
    });
    if (result.status !== 0) throw new Error(`next build failed:\n${(result.stdout + result.stderr).slice(-4000)}`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export interface Portal {
  url: string;
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

export async function startPortal(env: { databaseUrl: string; dataDir: string; extra?: Record<string, string> }): Promise<Portal> {
  await ensurePortalBuilt();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", "portal-server.ts")], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(port),
      PORTAL_BIND_ADDRESS: "127.0.0.1",
      DATABASE_URL: env.databaseUrl,
      MAILHARBOR_DATA_DIR: env.dataDir,
      NEXTAUTH_SECRET: crypto.randomBytes(32).toString("hex"),
      NEXTAUTH_URL: url,
      LOG_LEVEL: "warn",
      ...env.extra,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout!.on("data", (c: Buffer) => output.push(c.toString()));
  child.stderr!.on("data", (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the portal exited with ${child.exitCode}: ${output.join("").slice(-3000)}`);
    try {
      const response = await fetch(`${url}/login`);
      if (response.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`the portal did not answer within 60 s: ${output.join("").slice(-3000)}`);
    await sleep(200);
  }
  return {
    url,
    child,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Signs in with next-auth's credentials form over HTTP; the session cookie ("name=value"), or null when refused. */
export async function signInOverHttp(url: string, email: string, password: string): Promise<string | null> {
  const csrf = await fetch(`${url}/api/auth/csrf`);
  const cookie = csrf.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const response = await fetch(`${url}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ email, password, csrfToken, callbackUrl: `${url}/` }),
  });
  return (
    response.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .find((c) => c.startsWith("next-auth.session-token=")) ?? null
  );
}
