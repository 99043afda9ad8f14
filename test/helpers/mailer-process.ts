// Runs the real mailer (mailer/main.ts) as a child process on free ports, against this test
// file's database, and collects its JSON log lines.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "./free-port.ts";
import { PROJECT_ROOT } from "./project-root.ts";

export interface MailerProcess {
  mxPort: number;
  odmrPort: number;
  odmrsPort: number;
  hostname: string;
  child: ChildProcess;
  /** parsed JSON log lines, in order */
  logs: Record<string, unknown>[];
  stderr: string[];
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM and wait for the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL, no chance to clean up */
  kill(): Promise<void>;
}

export async function startMailer(overrides: Record<string, string> = {}): Promise<MailerProcess> {
  const [mxPort, odmrPort, odmrsPort] = [await freePort(), await freePort(), await freePort()];
  const hostname = overrides.MAIL_HOSTNAME ?? "mx.test.example";
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MX_PORT: String(mxPort),
    ODMR_PORT: String(odmrPort),
    ODMRS_PORT: String(odmrsPort),
    BIND_ADDRESS: "127.0.0.1",
    MAIL_HOSTNAME: hostname,
    LOG_LEVEL: "info",
    SHUTDOWN_GRACE_SECONDS: "2",
    ...overrides,
  };
  const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "mailer", "main.ts")], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        stderr.push(line);
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr.push(chunk.toString("utf8"));
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const waitForLog = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) {
          cleanup();
          resolve(found);
        } else if (child.exitCode !== null) {
          cleanup();
          reject(new Error(`mailer exited with ${child.exitCode}: ${stderr.join("").slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for a mailer log line; stderr: ${stderr.join("").slice(-2000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      void exited.then(check);
      check();
    });

  await waitForLog((l) => l.msg === "mailer ready", 60_000);
  return {
    mxPort,
    odmrPort,
    odmrsPort,
    hostname,
    child,
    logs,
    stderr,
    waitForLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
