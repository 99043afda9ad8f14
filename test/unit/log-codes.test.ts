// docs/log-codes.md lists every stable `code` a log line can carry. This scans the source for the
// codes log calls write (a literal `code: "X"`, either side of a `?:`, a template such as
// `${listener}_AUTH_FAILED`, a *_CODES table a log call looks up) and the core's error codes,
// which errorCode() puts on log lines, and fails on any code the table does not list.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../lib/errors.ts";
import { PROJECT_ROOT } from "../helpers/project-root.ts";

const SOURCE_DIRS = ["lib", "mailer", "app", "cli", "scripts"];
const LOG_CALL = /\.(trace|debug|info|warn|error|fatal)\(\s*\{/g;
const CODE = /"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|INTERNAL)"/g;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "generated" || entry.name === "node_modules" ? [] : sourceFiles(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** The object literal a log call starts at `open` (its `{`), up to its matching `}`, on one line. */
function logObject(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(open, i + 1).replace(/\s*\n\s*/g, " ");
  }
  return text.slice(open);
}

/** Codes the source can write on a log line, each with the file that writes it. */
function loggedCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of SOURCE_DIRS.flatMap((dir) => sourceFiles(path.join(PROJECT_ROOT, dir)))) {
    const text = fs.readFileSync(file, "utf8");
    const where = path.relative(PROJECT_ROOT, file);
    for (const call of text.matchAll(LOG_CALL)) {
      const object = logObject(text, call.index + call[0].length - 1);
      const at = object.indexOf("code:");
      if (at < 0) continue;
      // the value of `code:`, up to the next field
      const value = object.slice(at + 5).split(/,\s*[a-zA-Z]+:/)[0];
      for (const match of value.matchAll(CODE)) found.set(match[1], where);
      const template = /`\$\{[^}]+\}(_[A-Z_]+)`/.exec(value);
      if (template) {
        // a prefix chosen per listener: the prefixes are the string union its constructor takes
        const prefixes = [...text.matchAll(/"([A-Z]+)" \| "([A-Z]+)"/g)].flatMap((m) => [m[1], m[2]]);
        expect(prefixes.length, `${where}: the prefixes of ${template[1]}`).toBeGreaterThan(0);
        for (const prefix of prefixes) found.set(prefix + template[1], where);
      }
      const table = /code: ([A-Z_]+_CODES)\[/.exec(object);
      if (table) {
        const body = new RegExp(`const ${table[1]}[^=]*= \\{([^}]*)\\}`).exec(text)?.[1] ?? "";
        expect(body, `${where}: the table ${table[1]}`).not.toBe("");
        for (const match of body.matchAll(CODE)) found.set(match[1], where);
      }
    }
  }
  return found;
}

function documentedCodes(): Set<string> {
  const doc = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "log-codes.md"), "utf8");
  // codes are in the table rows' first cell (several may share one row)
  const rows = doc.split("\n").filter((line) => line.startsWith("| `"));
  return new Set(rows.flatMap((row) => [...row.split("|")[1].matchAll(/`([A-Z_0-9]+)`/g)].map((m) => m[1])));
}

describe("log codes", () => {
  it("every code a log line can carry is in docs/log-codes.md", () => {
    const logged = loggedCodes();
    // the scan itself must see the codes it is meant to see
    for (const known of [
      "MX_CONNECTION_LIMIT",
      "ODMR_CONNECTION_LIMIT_PER_IP",
      "MX_AUTH_FAILED",
      "ODMR_AUTH_LOCKED",
      "ODMR_REVERSE_TIMEOUT",
      "SMTP_SERVER_VERSION_UNTESTED",
    ]) {
      expect(logged.has(known), known).toBe(true);
    }
    const documented = documentedCodes();
    const missing = [...logged.keys(), ...Object.keys(ERROR_CODES)].filter((code) => !documented.has(code));
    expect(missing.map((code) => `${code} (${logged.get(code) ?? "lib/errors.ts"})`)).toEqual([]);
  });

  it("MX AUTH failures carry MX codes, not ODMR ones", () => {
    const logged = loggedCodes();
    // the authenticator both listeners share writes its listener's prefix (test/integration/etrn-command.test.ts sees MX_AUTH_FAILED from the MX)
    expect(logged.get("MX_AUTH_FAILED")).toBe("mailer/auth/smtp-auth.ts");
    expect(logged.get("ODMR_AUTH_FAILED")).toBe("mailer/auth/smtp-auth.ts");
  });
});
