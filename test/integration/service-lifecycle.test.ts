// The one-command start on the embedded PostgreSQL: first start creates the cluster and the first
// staff user, a second service on the same data directory refuses, the CLI shares the running
// service's database, SIGTERM stops everything, and the CLI starts (and stops) the database itself
// when no service runs. The portal is left out here (MAILHARBOR_COMPONENTS=mailer); the portal's
// own tests start it.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runningServer } from "../../lib/db/embedded-postgres.ts";
import { migrateDatabase } from "../../lib/db/migrate.ts";
import { runCli } from "../helpers/cli.ts";
import { freePort } from "../helpers/free-port.ts";
import { PROJECT_ROOT } from "../helpers/project-root.ts";
import { sleep } from "../helpers/sleep.ts";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-service-"));
fs.chmodSync(dataDir, 0o755);
const children: ChildProcess[] = [];

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startService(env: Record<string, string>): Started {
  const { DATABASE_URL: _omit, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", "start.ts")], {
    cwd: PROJECT_ROOT,
    env: { ...inherited, MAILHARBOR_DATA_DIR: dataDir, MAILHARBOR_COMPONENTS: "mailer", BIND_ADDRESS: "127.0.0.1", MAIL_HOSTNAME: "mx.test.example", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitFor(check: () => boolean, what: string, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const cliEnv = () => {
  const { DATABASE_URL: _omit, ...rest } = process.env;
  return { ...rest, DATABASE_URL: "", MAILHARBOR_DATA_DIR: dataDir };
};

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  const pg = runningServer(dataDir);
  if (pg) process.kill(pg.pid, "SIGINT");
  await sleep(500);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("one-command start on the embedded PostgreSQL", () => {
  let ports: Record<string, string>;
  let service: Started;

  it("starts, creates the first staff user and prints its password once", async () => {
    ports = { MX_PORT: String(await freePort()), ODMR_PORT: String(await freePort()), ODMRS_PORT: String(await freePort()), PORT: String(await freePort()) };
    service = startService(ports);
    await waitFor(() => /mailer ready/.test(service.output()) || service.child.exitCode !== null, "the mailer");
    expect(service.output()).toMatch(/e-mail: +admin@mailharbor\.local/);
    expect(service.output()).toMatch(/password: +\S{16}/);
    const socket = net.connect(Number(ports.MX_PORT), "127.0.0.1");
    await new Promise((resolve, reject) => {
      socket.once("data", resolve);
      socket.once("error", reject);
    });
    socket.destroy();
    expect(runningServer(dataDir)).not.toBeNull();
  });

  it("refuses a second service on the same data directory", async () => {
    const second = startService({ ...ports, MX_PORT: String(await freePort()) });
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/another Mailharbor service \(pid \d+\) is already running/);
    expect(second.output()).not.toMatch(/\n\s+at /); // no stack trace
    expect(service.child.exitCode).toBeNull();
  });

  it("lets the CLI work on the running service's database", async () => {
    const add = await runCli(["customer", "add", "--name", "Shared", "--json"], cliEnv());
    expect(add.code).toBe(0);
    const list = await runCli(["customer", "list", "--json"], cliEnv());
    expect(list.json.items.map((c: { name: string }) => c.name)).toContain("Shared");
    expect(runningServer(dataDir)).not.toBeNull(); // the CLI did not stop the service's database
  });

  it("stops cleanly on SIGTERM, database included", async () => {
    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    expect(service.output()).toMatch(/stopped/);
    expect(runningServer(dataDir)).toBeNull();
    expect(fs.existsSync(path.join(dataDir, "service.pid"))).toBe(false);
  });

  it("lets the CLI start the database itself when no service runs, and stop it afterwards", async () => {
    const list = await runCli(["customer", "list", "--json"], cliEnv());
    expect(list.code).toBe(0);
    expect(list.json.items.map((c: { name: string }) => c.name)).toEqual(["Shared"]);
    expect(runningServer(dataDir)).toBeNull();
  });

  it("restarts on the same data without creating another staff user", async () => {
    const again = startService(ports);
    await waitFor(() => /mailer ready/.test(again.output()) || again.child.exitCode !== null, "the mailer");
    expect(again.output()).not.toMatch(/password:/);
    again.child.kill("SIGINT");
    expect(await again.exited).toBe(0);
  });

  it("names the variable when a port cannot be used, without a stack trace", async () => {
    const busy = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => busy.once("listening", r));
    const port = (busy.address() as net.AddressInfo).port;
    const failed = startService({ ...ports, MX_PORT: String(port) });
    expect(await failed.exited).toBe(1);
    expect(failed.output()).toMatch(/MX_PORT: port \d+ is already in use/);
    expect(failed.output()).not.toMatch(/\n\s+at /);
    busy.close();
    const wrong = startService({ ...ports, ODMR_PORT: "99999" });
    expect(await wrong.exited).toBe(1);
    expect(wrong.output().trim()).toMatch(/^mailharbor: ODMR_PORT: /);
    expect(runningServer(dataDir)).toBeNull();
  });

  it("applies migrations to an empty database exactly once", async () => {
    const { openEmbeddedDatabase } = await import("../../lib/db/embedded-postgres.ts");
    const db = await openEmbeddedDatabase(dataDir);
    const url = new URL(db.url);
    const pg = (await import("pg")).default;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query("CREATE DATABASE empty_one");
    await admin.end();
    url.pathname = "/empty_one";
    const applied = await migrateDatabase(url.toString());
    expect(applied.length).toBeGreaterThan(0);
    expect(await migrateDatabase(url.toString())).toEqual([]);
    await db.stop();
  });
});
