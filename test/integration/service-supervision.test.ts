// `npm start` supervises what it started (issue 10 item 8). The real start script runs the mailer
// and the portal on the embedded PostgreSQL; the test kills the postmaster with SIGKILL (the MX
// must answer 4xx while it is gone, then 250 again without anyone's help), then the mailer, then
// the portal, and checks that every message the MX answered 250 to is still in the database and
// that the portal answered /login throughout the database's and the mailer's restarts.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runningServer } from "../../lib/db/embedded-postgres.ts";
import { runCli } from "../helpers/cli.ts";
import { freePort } from "../helpers/free-port.ts";
import { ensurePortalBuilt } from "../helpers/portal.ts";
import { PROJECT_ROOT } from "../helpers/project-root.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-supervise-"));
fs.chmodSync(dataDir, 0o755);
const RECOVERY_LIMIT_MS = 30_000;

let service: ChildProcess;
let output = "";
const ports: Record<string, number> = {};
const accepted: string[] = []; // queue ids the MX answered 250 to
const portalFailures: string[] = [];
let portalChecks = 0;
let watchPortal = false;

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 120_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.slice(-3000)}`);
    await sleep(100);
  }
}

/** One message through the MX; the last reply of the transaction (or of the step that refused it). */
async function sendOne(n: number): Promise<{ code: number; last: string }> {
  let dialog: SmtpDialog | undefined;
  try {
    dialog = await SmtpDialog.open(ports.MX_PORT);
    const ehlo = await dialog.command("EHLO sender.example");
    if (ehlo.code !== 250) return ehlo;
    const sent = await dialog.send("sender@sender.example", ["someone@held.example"], `Subject: supervised ${n}\r\n\r\nbody ${n}\r\n`);
    const refused = [sent.mail, ...sent.rcpt].find((r) => r.code !== 250);
    const last = refused ?? sent.final ?? sent.data!;
    if (last.code === 250) accepted.push(last.last.match(/queued as (\S+)/)![1]);
    return last;
  } catch (error) {
    return { code: 0, last: (error as Error).message };
  } finally {
    dialog?.close();
  }
}

/**
 * Sends until a 250 comes back after a refusal (a backend may still finish a transaction just after
 * the postmaster died: that 250 is honest, and the message is checked for later like the others);
 * with `refusalFirst` false the first 250 ends it. Returns the replies seen and the time it took.
 */
async function sendUntilAccepted(start: number, refusalFirst = false): Promise<{ codes: number[]; ms: number }> {
  const codes: number[] = [];
  for (let n = start; Date.now() - t0 < RECOVERY_LIMIT_MS + 30_000; n++) {
    const reply = await sendOne(n);
    codes.push(reply.code);
    if (reply.code === 250 && (!refusalFirst || codes.some((c) => c !== 250))) return { codes, ms: Date.now() - t0 };
    await sleep(200);
  }
  throw new Error(`no 250 within the limit: ${codes.join(",")}\n${output.slice(-3000)}`);
}
let t0 = 0;

let odmrSecret = "";

/** ODMR greets, takes EHLO, and AUTH succeeds: the login is checked through Prisma's pool, not pg's. */
async function odmrGreets(): Promise<boolean> {
  try {
    const dialog = await SmtpDialog.open(ports.ODMR_PORT);
    const ok =
      dialog.greeting.code === 220 &&
      (await dialog.command("EHLO customer.example")).code === 250 &&
      (await dialog.authCramMd5("held", odmrSecret)).code === 235;
    dialog.close();
    return ok;
  } catch {
    return false;
  }
}

async function portalLogin(): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${ports.PORT}/login`, { signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return response.status;
}

async function pollPortal() {
  while (watchPortal) {
    portalChecks++;
    try {
      const status = await portalLogin();
      if (status !== 200) portalFailures.push(`status ${status}`);
    } catch (error) {
      portalFailures.push((error as Error).message);
    }
    await sleep(250);
  }
}

function childPid(script: string): number {
  const out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(service.pid)]).toString();
  const line = out.split("\n").find((l) => l.includes(script));
  if (!line) throw new Error(`no ${script} under the service:\n${out}`);
  return Number(line.trim().split(/\s+/)[0]);
}

async function storedIds(): Promise<Set<string>> {
  const server = runningServer(dataDir)!;
  const password = fs.readFileSync(path.join(dataDir, "postgres.password"), "utf8").trim();
  const client = new pg.Client({ connectionString: `postgresql://mailharbor:${password}@127.0.0.1:${server.port}/mailharbor` });
  await client.connect();
  try {
    return new Set((await client.query<{ id: string }>("SELECT id FROM message")).rows.map((r) => r.id));
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await ensurePortalBuilt();
  for (const name of ["MX_PORT", "ODMR_PORT", "ODMRS_PORT", "PORT"]) ports[name] = await freePort();
  const { DATABASE_URL: _omit, ...inherited } = process.env;
  service = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", "start.ts")], {
    cwd: PROJECT_ROOT,
    env: {
      ...inherited,
      MAILHARBOR_DATA_DIR: dataDir,
      BIND_ADDRESS: "127.0.0.1",
      PORTAL_BIND_ADDRESS: "127.0.0.1",
      MAIL_HOSTNAME: "mx.test.example",
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  service.stdout!.on("data", (c) => (output += c));
  service.stderr!.on("data", (c) => (output += c));
  await waitFor(() => /mailer ready/.test(output) && /portal: listening/.test(output), "the mailer and the portal");
  const env = { DATABASE_URL: "", MAILHARBOR_DATA_DIR: dataDir };
  expect((await runCli(["customer", "add", "--name", "Held", "--json"], env)).code).toBe(0);
  expect((await runCli(["domain", "add", "--customer", "Held", "--domain", "held.example", "--accept-all", "--json"], env)).code).toBe(0);
  const login = await runCli(["login", "add", "--customer", "Held", "--login", "held", "--json"], env);
  expect(login.code).toBe(0);
  odmrSecret = login.json.secret;
}, 600_000);

afterAll(async () => {
  watchPortal = false;
  if (service?.exitCode === null) {
    service.kill("SIGTERM");
    await new Promise((r) => service.once("exit", r));
  }
  const server = runningServer(dataDir);
  if (server) process.kill(server.pid, "SIGINT");
  await sleep(500);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start supervises the database, the mailer and the portal", () => {
  it("accepts mail before anything goes wrong", async () => {
    for (let n = 0; n < 5; n++) expect((await sendOne(n)).code).toBe(250);
    expect(await portalLogin()).toBe(200);
    expect(await odmrGreets()).toBe(true);
    watchPortal = true;
    void pollPortal();
  });

  it("starts the embedded PostgreSQL again after SIGKILL: 4xx while it is gone, 250 again within 30 s", async () => {
    const before = runningServer(dataDir)!;
    t0 = Date.now();
    process.kill(before.pid, "SIGKILL");
    const { codes, ms } = await sendUntilAccepted(100, true);
    console.log(`database SIGKILL -> first 250 after ${ms} ms; replies on the way: ${codes.join(",")}`);
    const refusals = codes.filter((c) => c !== 250);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((c) => c === 451 || c === 421)).toBe(true); // only "try later" while it was gone
    expect(ms).toBeLessThan(RECOVERY_LIMIT_MS);
    expect(runningServer(dataDir)!.pid).not.toBe(before.pid);
    expect(output).toMatch(/"code":"DB_DIED"/);
    // the supervisor logs it once the restart returns, which may be just after the mailer's first 250
    await expect.poll(() => output, { timeout: 10_000 }).toMatch(/"code":"DB_RESTARTED"/);
    console.log(
      output
        .split("\n")
        .filter((l) => /"code":"DB_/.test(l))
        .join("\n"),
    );
    // Prisma's pool (the ODMR login check) reconnects too; its first query may still meet a dead connection
    let attempts = 0;
    await waitFor(async () => (attempts++, odmrGreets()), "ODMR AUTH after the database restart", 10_000);
    console.log(`ODMR AUTH (Prisma) after the database restart: ${attempts} attempt(s)`);
  }, 120_000);

  it("starts the mailer again after SIGKILL: MX and ODMR back within 30 s", async () => {
    const mailerPid = childPid("mailer/main.ts");
    t0 = Date.now();
    process.kill(mailerPid, "SIGKILL");
    const { ms } = await sendUntilAccepted(200);
    await waitFor(odmrGreets, "ODMR", RECOVERY_LIMIT_MS);
    const odmrMs = Date.now() - t0;
    console.log(`mailer SIGKILL -> MX 250 after ${ms} ms, ODMR greeting after ${odmrMs} ms`);
    expect(odmrMs).toBeLessThan(RECOVERY_LIMIT_MS);
    expect(output).toMatch(/"code":"COMPONENT_EXITED".*"component":"mailer".*"exit":"SIGKILL"/);
    expect(output).toMatch(/"code":"COMPONENT_RESTARTED".*"component":"mailer"/);
    expect(childPid("mailer/main.ts")).not.toBe(mailerPid);
  }, 120_000);

  it("kept the portal answering /login throughout, and lost none of the accepted mail", async () => {
    watchPortal = false;
    expect(portalChecks).toBeGreaterThan(5);
    expect(portalFailures).toEqual([]);
    const stored = await storedIds();
    expect(accepted.length).toBeGreaterThanOrEqual(7);
    expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
  });

  it("starts the portal again after SIGKILL", async () => {
    const portalPid = childPid("portal-server.ts");
    t0 = Date.now();
    process.kill(portalPid, "SIGKILL");
    await waitFor(async () => (await portalLogin().catch(() => 0)) === 200, "the portal", RECOVERY_LIMIT_MS);
    console.log(`portal SIGKILL -> /login 200 after ${Date.now() - t0} ms`);
    expect(childPid("portal-server.ts")).not.toBe(portalPid);
  }, 60_000);

  it("still stops cleanly on SIGTERM, the restarted database included", async () => {
    service.kill("SIGTERM");
    expect(await new Promise((r) => service.once("exit", r))).toBe(0);
    expect(runningServer(dataDir)).toBeNull();
  }, 120_000);
});
