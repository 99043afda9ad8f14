// A real customer MTA: a private Postfix instance whose smtpd announces PIPELINING and CHUNKING
// (Postfix's defaults since 3.4, which smtp-sink 3.7 lacks) and queues each message before its
// 250, relaying the given domains to discard(8). Used by the drain benchmark and by the
// interoperability test of BDAT. Everything lives in its own temporary directory; nothing outside
// it is touched, and Postfix's system service is never started. Needs root.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { sleep } from "./sleep.ts";

export interface PostfixReceiverOptions {
  host: string;
  port: number;
  /** the domains it relays (to discard) */
  domains: string[];
  /** start it inside this network namespace */
  netns?: string;
  /** recipients refused at RCPT with 554 */
  refuseRecipients?: string[];
  /** messages with this Subject are refused at the end of their data with 550 5.7.1 */
  refuseSubject?: string;
}

/** One message as Postfix logged it: its envelope sender and each recipient discard(8) took. */
export interface LoggedDelivery {
  from: string;
  to: string;
}

/** Why a Postfix receiver cannot run here, or null. */
export function postfixUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "not root";
  if (!fs.existsSync("/etc/postfix/master.cf.proto") || spawnSync("postfix", ["-c", "/etc/postfix", "status"], { stdio: "ignore" }).error)
    return "Postfix is not installed";
  return null;
}

export class PostfixReceiver {
  private readonly base = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-postfix-receiver-"));
  private readonly conf = path.join(this.base, "etc");
  private readonly maillog = path.join(this.base, "maillog");

  constructor(private readonly options: PostfixReceiverOptions) {}

  get port(): number {
    return this.options.port;
  }

  async start(): Promise<void> {
    const { host, port, netns } = this.options;
    const spool = path.join(this.base, "spool");
    const data = path.join(this.base, "data");
    fs.chmodSync(this.base, 0o755);
    fs.mkdirSync(this.conf);
    fs.mkdirSync(spool, { mode: 0o755 });
    fs.mkdirSync(data, { mode: 0o700 });
    const id = (flag: string) => Number(spawnSync("id", [flag, "postfix"]).stdout.toString().trim());
    fs.chownSync(data, id("-u"), id("-g"));
    const recipients = path.join(this.conf, "refused-recipients");
    fs.writeFileSync(recipients, (this.options.refuseRecipients ?? []).map((r) => `${r} REJECT no such user\n`).join(""));
    const headers = path.join(this.conf, "header-checks");
    fs.writeFileSync(
      headers,
      this.options.refuseSubject ? `/^Subject: ${this.options.refuseSubject.replace(/[^\w ]/g, "\\$&")}$/ REJECT content refused\n` : "",
    );
    fs.writeFileSync(
      path.join(this.conf, "main.cf"),
      [
        "compatibility_level = 3.6",
        `queue_directory = ${spool}`,
        `data_directory = ${data}`,
        "myhostname = customer.postfix.example",
        "mydestination =",
        "local_recipient_maps =",
        "alias_maps =",
        "alias_database =",
        "biff = no",
        `inet_interfaces = ${host}`,
        "inet_protocols = ipv4",
        "mynetworks = 127.0.0.0/8",
        `relay_domains = ${this.options.domains.join(", ")}`,
        "relay_transport = discard:",
        "default_transport = discard:",
        `smtpd_recipient_restrictions = check_recipient_access texthash:${recipients}, reject_unauth_destination`,
        `header_checks = regexp:${headers}`,
        "smtpd_peername_lookup = no",
        "smtp_dns_support_level = disabled",
        `maillog_file = ${this.maillog}`,
        `maillog_file_prefixes = ${this.base}`,
        "",
      ].join("\n"),
    );
    fs.copyFileSync("/etc/postfix/master.cf.proto", path.join(this.conf, "master.cf"));
    const steps: [string, string[]][] = [
      ["postconf", ["-c", this.conf, "-M#", "smtp/inet"]],
      ["postconf", ["-c", this.conf, "-Me", `${host}:${port}/inet = ${host}:${port} inet n - n - - smtpd`]],
      ["postconf", ["-c", this.conf, "-F", "*/*/chroot = n"]],
      netns ? ["ip", ["netns", "exec", netns, "postfix", "-c", this.conf, "start"]] : ["postfix", ["-c", this.conf, "start"]],
    ];
    for (const [command, args] of steps) {
      const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
      if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr.toString().slice(-300)}`);
    }
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        // greeted, then QUIT: a probe Postfix does not log as a client error
        const probe = net.connect(port, host);
        probe
          .once("data", () => probe.end("QUIT\r\n"))
          .once("close", (failed) => resolve(!failed))
          .once("error", () => undefined);
      });
      if (up) return;
      await sleep(100);
    }
    throw new Error(`the receiving Postfix does not listen on ${host}:${port}`);
  }

  /** What discard(8) took so far, from the instance's log: each recipient with its message's sender. */
  delivered(): LoggedDelivery[] {
    const log = fs.existsSync(this.maillog) ? fs.readFileSync(this.maillog, "utf8") : "";
    const senders = new Map<string, string>();
    const delivered: LoggedDelivery[] = [];
    for (const line of log.split("\n")) {
      const from = /qmgr\[\d+\]: (\w+): from=<([^>]*)>/.exec(line);
      if (from) senders.set(from[1], from[2]);
      const to = /discard\[\d+\]: (\w+): to=<([^>]*)>.* status=sent/.exec(line);
      if (to) delivered.push({ from: senders.get(to[1]) ?? "?", to: to[2] });
    }
    return delivered;
  }

  /** Lines of the instance's log that match (e.g. smtpd's warnings). */
  logLines(pattern: RegExp): string[] {
    const log = fs.existsSync(this.maillog) ? fs.readFileSync(this.maillog, "utf8") : "";
    return log.split("\n").filter((line) => pattern.test(line));
  }

  stop(): void {
    spawnSync("postfix", ["-c", this.conf, "stop"], { stdio: "ignore" });
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}
