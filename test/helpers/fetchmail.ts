// Runs the real fetchmail (6.4, the Debian package) as an ODMR customer: an rc file of mode 0600
// in a temporary HOME, `fetchmail -f RC -N --nosyslog` (with -v and a lock file of its own),
// relaying into an SMTP receiver.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface FetchmailRun {
  /** fetchmail's exit status: 0 relayed or no mail (453), 3 auth failure, 4 refused (450/502), 8 (451) */
  code: number | null;
  output: string;
}

export interface FetchmailOptions {
  port: number;
  login: string;
  secret: string;
  domains: string[];
  /** the customer's MTA that fetchmail relays into */
  smtpPort: number;
  /** implicit TLS (--ssl), without certificate checks (our test certificate is self-signed) */
  ssl?: boolean;
  timeoutMs?: number;
}

export async function runFetchmail(options: FetchmailOptions): Promise<FetchmailRun> {
  return runFetchmailRc(
    [
      `poll 127.0.0.1 with protocol ODMR service ${options.port} auth cram-md5`,
      `  user "${options.login}" there with password "${options.secret}"`,
      `  fetchdomains ${options.domains.join(",")}`,
      `  smtphost "127.0.0.1/${options.smtpPort}"`,
      ...(options.ssl ? ["  ssl", "  no sslcertck"] : []),
      "",
    ].join("\n"),
    options.timeoutMs,
  );
}

/** Runs fetchmail with the given rc text (e.g. the portal's ready configuration). */
export async function runFetchmailRc(rcText: string, timeoutMs = 60_000): Promise<FetchmailRun> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-fetchmail-"));
  try {
    const rc = path.join(home, ".fetchmailrc");
    fs.writeFileSync(rc, rcText, { mode: 0o600 });
    return await new Promise<FetchmailRun>((resolve, reject) => {
      // as root fetchmail locks /var/run/fetchmail.pid, which concurrent runs would share
      const child = spawn("fetchmail", ["-f", rc, "-N", "--nosyslog", "-v", "--pidfile", path.join(home, "fetchmail.pid")], {
        env: { ...process.env, HOME: home, LC_ALL: "C" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}
