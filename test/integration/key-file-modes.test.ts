// The data directory's secrets (secret.key seals the CRAM-MD5 secrets, nextauth.secret signs the
// portal's sessions): created 0600 and exclusively, and a start with one that group or others may
// read is refused with one line naming the file, as ssh refuses such a private key. The start is
// the real `npm start` script (scripts/start.ts) against this file's database.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadOrCreateKeyFile, loadOrCreateSecretFile } from "../../lib/auth/secret-box.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { freePort } from "../helpers/free-port.ts";
import { PROJECT_ROOT } from "../helpers/project-root.ts";

const env = useTestDatabase();
const dirs: string[] = [];

function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-keys-"));
  fs.chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `npm start`'s script until it exits (it must, here); its exit status and what it printed. */
async function start(dir: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", "start.ts")], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      DATABASE_URL: env.url,
      MAILHARBOR_DATA_DIR: dir,
      MAILHARBOR_COMPONENTS: "mailer",
      BIND_ADDRESS: "127.0.0.1",
      MX_PORT: String(await freePort()),
      ODMR_PORT: String(await freePort()),
      ODMRS_PORT: String(await freePort()),
      MAIL_HOSTNAME: "mx.test.example",
    },
  });
  let stderr = "";
  child.stderr!.on("data", (c) => (stderr += c));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  return { code, stderr };
}

describe("key files of the data directory", () => {
  it("refuses to start when nextauth.secret is readable by others, naming the file in one line", async () => {
    const dir = dataDir();
    const file = path.join(dir, "nextauth.secret");
    fs.writeFileSync(file, "a".repeat(64) + "\n", { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const { code, stderr } = await start(dir);
    expect(code).not.toBe(0);
    expect(stderr.trim().split("\n")).toEqual([`mailharbor: ${file}: readable by group or others (mode 0644); make it 0600 (chmod 600 ${file})`]);
  }, 90_000);

  it("refuses to start when secret.key is readable by the group", async () => {
    const dir = dataDir();
    const file = path.join(dir, "secret.key");
    fs.writeFileSync(file, "b".repeat(64) + "\n");
    fs.chmodSync(file, 0o640);
    const { code, stderr } = await start(dir);
    expect(code).not.toBe(0);
    expect(stderr.trim()).toBe(`mailharbor: ${file}: readable by group or others (mode 0640); make it 0600 (chmod 600 ${file})`);
  }, 90_000);

  it("creates a missing key 0600 and exclusively, and keeps an existing one", () => {
    const dir = dataDir();
    const file = path.join(dir, "secret.key");
    const key = loadOrCreateKeyFile(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKeyFile(file).equals(key)).toBe(true);
    // a file that appeared meanwhile (another process first) wins over the one being created
    const other = path.join(dir, "nextauth.secret");
    const value = loadOrCreateSecretFile(other, () => {
      fs.writeFileSync(other, "theirs\n", { mode: 0o600 });
      return "ours\n";
    });
    expect(value).toBe("theirs\n");
    expect(fs.readFileSync(other, "utf8")).toBe("theirs\n");
  });
});
