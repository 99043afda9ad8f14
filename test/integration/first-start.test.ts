// The first start as a newcomer does it (issue 11 item 1): the real `npm start` from a clone in a
// directory only its owner can enter (mode 0700), as root and as an ordinary user. As root the
// embedded PostgreSQL runs as the `postgres` account, which cannot enter the clone: it must run
// from a checked copy of the binaries under RUNTIME_DIR with its cluster there too. The "clone" is
// the repository's files plus node_modules as hard links, which is what a clone and `npm ci` would
// hold, in a second instead of minutes. Only the mailer is started: the
// portal build is not what this is about.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RUNTIME_DIR, runningServer } from "../../lib/db/embedded-postgres.ts";
import { freePort } from "../helpers/free-port.ts";
import { PROJECT_ROOT } from "../helpers/project-root.ts";
import { sleep } from "../helpers/sleep.ts";

const isRoot = process.getuid?.() === 0;
const made: string[] = [];
const clusters: string[] = [];

/** A private (0700) directory holding a copy of the project, as `git clone` + `npm ci` leave it. */
function privateClone(owner?: { uid: number; gid: number }): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-newcomer-"));
  made.push(home);
  fs.chmodSync(home, 0o700);
  const clone = path.join(home, "clone");
  fs.mkdirSync(clone);
  // what a clone holds: the index's tree (HEAD plus what is staged; on a clean checkout, HEAD), not
  // the working tree, where edits in progress need not fit together
  const tree = execFileSync("git", ["write-tree"], { cwd: PROJECT_ROOT }).toString().trim();
  execFileSync("sh", ["-c", 'git archive "$1" | tar -x -C "$2"', "sh", tree, clone], { cwd: PROJECT_ROOT });
  // what `npm ci` adds: node_modules (hard links), then our postinstall's Prisma client for this schema
  execFileSync("cp", ["-al", path.join(PROJECT_ROOT, "node_modules"), path.join(clone, "node_modules")]);
  execFileSync("npm", ["run", "--silent", "prisma:generate"], { cwd: clone, stdio: "ignore" });
  if (owner) {
    // the user's own files, node_modules' hard links excepted (they are shared with this tree)
    execFileSync("chown", [`${owner.uid}:${owner.gid}`, home]);
    execFileSync("find", [clone, "-path", path.join(clone, "node_modules"), "-prune", "-o", "-exec", "chown", "-h", `${owner.uid}:${owner.gid}`, "{}", "+"]);
  }
  return clone;
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function npmStart(clone: string, ports: Record<string, number>, user?: string): Run {
  const { DATABASE_URL: _omit, MAILHARBOR_DATA_DIR: _dir, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    MAILHARBOR_COMPONENTS: "mailer",
    BIND_ADDRESS: "127.0.0.1",
    MAIL_HOSTNAME: "mx.test.example",
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  if (user) env.HOME = path.dirname(clone);
  const [command, args]: [string, string[]] = user ? ["runuser", ["-u", user, "--", "npm", "start"]] : ["npm", ["start"]];
  const child = spawn(command, args, { cwd: clone, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  return { child, output: () => out, exited: new Promise((r) => child.once("exit", (code) => r(code))) };
}

async function mxGreets(port: number): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  const greeting = await new Promise<string>((resolve, reject) => {
    socket.once("data", (d) => resolve(d.toString()));
    socket.once("error", reject);
  });
  socket.destroy();
  return greeting;
}

async function startAndStop(clone: string, user?: string): Promise<string> {
  const ports = { MX_PORT: await freePort(), ODMR_PORT: await freePort(), ODMRS_PORT: await freePort() };
  const run = npmStart(clone, ports, user);
  const deadline = Date.now() + 120_000;
  while (!/mailer ready/.test(run.output()) && run.child.exitCode === null && Date.now() < deadline) await sleep(100);
  expect(run.output()).toMatch(/mailer ready/);
  expect(await mxGreets(ports.MX_PORT)).toMatch(/^220 /);
  // SIGTERM to the start script (as systemd or Ctrl-C would reach it; npm itself does not pass a
  // SIGTERM on): it stops the mailer and the database, and npm exits with its status
  process.kill(Number(fs.readFileSync(path.join(clone, "data", "service.pid"), "utf8")), "SIGTERM");
  expect(await run.exited).toBe(0);
  expect(runningServer(path.join(clone, "data"))).toBeNull();
  return run.output();
}

afterAll(async () => {
  for (const home of made) {
    const data = path.join(home, "clone", "data");
    const pidFile = path.join(data, "service.pid");
    if (fs.existsSync(pidFile)) {
      try {
        process.kill(Number(fs.readFileSync(pidFile, "utf8")), "SIGTERM"); // left running by a failed test
      } catch {
        /* gone already */
      }
    }
    const server = runningServer(data);
    if (server) process.kill(server.pid, "SIGINT");
    const link = path.join(data, "postgres");
    if (fs.lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) clusters.push(fs.readlinkSync(link));
  }
  await sleep(1000);
  for (const cluster of new Set(clusters)) fs.rmSync(cluster, { recursive: true, force: true });
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)("first start as root from a private clone", () => {
  let clone: string;

  it("starts: the binaries run from a checked copy and the cluster lives where postgres can reach it", async () => {
    clone = privateClone();
    expect(fs.statSync(path.dirname(clone)).mode & 0o777).toBe(0o700);
    const output = await startAndStop(clone);
    expect(output).not.toMatch(/EACCES/);
    const link = path.join(clone, "data", "postgres");
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    const cluster = fs.realpathSync(link);
    expect(cluster.startsWith(path.join(RUNTIME_DIR, "clusters") + "/")).toBe(true);
    expect(fs.statSync(cluster).uid).toBe(Number(execFileSync("id", ["-u", "postgres"]).toString()));
    expect(output).toContain(`embedded PostgreSQL in ${cluster}`);
    expect(fs.readdirSync(path.join(RUNTIME_DIR, "bin")).some((d) => /^linux-x64-[0-9a-f]{24}$/.test(d))).toBe(true);
  }, 240_000);

  it("replaces a damaged copy of the binaries on the next start, and keeps the data", async () => {
    const copy = path.join(
      RUNTIME_DIR,
      "bin",
      fs.readdirSync(path.join(RUNTIME_DIR, "bin")).find((d) => /^linux-x64-[0-9a-f]{24}$/.test(d))!,
    );
    const victim = path.join(copy, "share", "postgresql", "postgresql.conf.sample");
    const original = fs.readFileSync(victim);
    fs.appendFileSync(victim, "# tampered\n");
    const output = await startAndStop(clone);
    expect(output).not.toMatch(/password:/); // the same cluster: the staff user exists already
    expect(fs.readFileSync(victim)).toEqual(original);
  }, 240_000);

  it("refuses a copy location others can write, in one line naming what to do", async () => {
    const bin = path.join(RUNTIME_DIR, "bin");
    fs.chmodSync(bin, 0o777);
    try {
      const run = npmStart(clone, { MX_PORT: await freePort(), ODMR_PORT: await freePort(), ODMRS_PORT: await freePort() });
      expect(await run.exited).toBe(1);
      const line = run
        .output()
        .split("\n")
        .find((l) => l.startsWith("mailharbor: "))!;
      expect(line).toBe(`mailharbor: ${bin} must be a directory owned by root that only root can write (chmod 755 ${bin}), or set DATABASE_URL`);
      expect(run.output()).not.toMatch(/\n\s+at /);
    } finally {
      fs.chmodSync(bin, 0o755);
    }
  }, 120_000);
});

describe.skipIf(!isRoot)("first start as an ordinary user in a private home", () => {
  it("starts with the embedded PostgreSQL running as that user, data in the clone", async () => {
    const nobody = { uid: Number(execFileSync("id", ["-u", "nobody"]).toString()), gid: Number(execFileSync("id", ["-g", "nobody"]).toString()) };
    const clone = privateClone(nobody);
    await startAndStop(clone, "nobody");
    const cluster = path.join(clone, "data", "postgres");
    expect(fs.lstatSync(cluster).isDirectory()).toBe(true); // in the data directory itself, no symlink
    expect(fs.statSync(cluster).uid).toBe(nobody.uid);
  }, 240_000);
});

if (!isRoot) console.log("first-start tests skipped: they need root (to be root, and to act as another user)");
