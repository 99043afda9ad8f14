// The listeners build on smtp-server internals (see adapted-connection.ts and adapted-server.ts),
// which a release may change without notice. So the mailer starts only on a version the contract
// tests (test/integration/smtp-server-contract.test.ts) have passed against; an upgrade that
// changes one is refused at start, naming the version, instead of failing inside a session.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { MailharborError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log/logger.ts";

/** smtp-server versions the contract tests passed against. Add one only after running them on it. */
export const TESTED_SMTP_SERVER_VERSIONS: readonly string[] = ["3.21.6"];

/** The version of the smtp-server package this process loads (its package.json, found from its entry point). */
export function installedSmtpServerVersion(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve("smtp-server"));
  // bounded: the entry point is a few directories below the package root
  for (let depth = 0; depth < 8; depth++) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (manifest.name === "smtp-server" && manifest.version) return manifest.version;
    }
    dir = path.dirname(dir);
  }
  throw new MailharborError("INTERNAL", "smtp-server: cannot find its package.json");
}

/** Throws (and logs SMTP_SERVER_VERSION_UNTESTED) unless `version` is one the contract tests passed against. */
export function checkSmtpServerVersion(log: Logger, version = installedSmtpServerVersion()): void {
  if (TESTED_SMTP_SERVER_VERSIONS.includes(version)) return;
  const tested = TESTED_SMTP_SERVER_VERSIONS.join(", ");
  log.fatal({ code: "SMTP_SERVER_VERSION_UNTESTED", version, tested }, "smtp-server version not tested with the listeners");
  throw new MailharborError(
    "INTERNAL",
    `smtp-server ${version} is installed, but the MX and ODMR listeners are tested only with ${tested}: install a tested version (npm ci), or run the smtp-server contract tests on ${version} and add it to TESTED_SMTP_SERVER_VERSIONS`,
    { version },
  );
}
