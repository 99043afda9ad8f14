// Runs the real `mailharbor` CLI (bin/mailharbor.js) as a child process.
import { execFile } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "./project-root.ts";

const BIN = path.join(PROJECT_ROOT, "bin", "mailharbor.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json calls) */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed output whose shape each test asserts
  json: any;
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr, json });
    });
  });
}
