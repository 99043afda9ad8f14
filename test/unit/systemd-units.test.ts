// The systemd units in deploy/systemd (issue 11 item 5): `systemd-analyze verify` accepts them
// (where it is installed), and each keeps the promises the README makes: an ordinary user, ports
// below 1024 through CAP_NET_BIND_SERVICE alone, restart on failure, a read-only system but for its
// data directory, the environment file, and the start script run by node so it gets SIGTERM itself.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const DIR = path.resolve(import.meta.dirname, "../../deploy/systemd");
const UNITS = ["mailharbor.service", "mailharbor-mailer.service", "mailharbor-portal.service"];
const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
if (!analyze) console.log("systemd-analyze is not installed (apt-get install systemd): skipping `systemd-analyze verify`");

/** [Service] settings of a unit file: name -> every value given, in order. */
function serviceSettings(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of fs.readFileSync(path.join(DIR, unit), "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (line.startsWith("[")) section = line;
    else if (section === "[Service]") {
      const eq = line.indexOf("=");
      const name = line.slice(0, eq);
      settings.set(name, [...(settings.get(name) ?? []), line.slice(eq + 1)]);
    }
  }
  return settings;
}

function verify(files: string[]): { status: number | null; output: string } {
  const result = spawnSync("systemd-analyze", ["verify", "--man=no", ...files], { encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe("deploy/systemd units", () => {
  it.skipIf(!analyze)("pass systemd-analyze verify", () => {
    const result = verify(UNITS.map((u) => path.join(DIR, u)));
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it.skipIf(!analyze)("would be caught by systemd-analyze verify if they were broken", () => {
    // the check above means something: a misspelt setting in a copy of the unit fails it
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-units-"));
    try {
      const broken = path.join(dir, "mailharbor.service");
      fs.writeFileSync(broken, fs.readFileSync(path.join(DIR, "mailharbor.service"), "utf8").replace("Restart=on-failure", "Restart=sometimes"));
      const result = verify([broken]);
      expect(result.output).toMatch(/mailharbor\.service:\d+: Failed to parse service restart specifier/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const unit of UNITS) {
    it(`${unit}: an ordinary user, restart on failure, hardening, the environment file`, () => {
      const s = serviceSettings(unit);
      expect(s.get("User")).toEqual(["mailharbor"]);
      expect(s.get("Restart")).toEqual(["on-failure"]);
      expect(s.get("EnvironmentFile")).toEqual(["/etc/mailharbor/mailharbor.env"]);
      expect(s.get("NoNewPrivileges")).toEqual(["yes"]);
      expect(s.get("ProtectSystem")).toEqual(["strict"]);
      expect(s.get("PrivateTmp")).toEqual(["yes"]);
      expect(s.get("KillMode")).toEqual(["mixed"]);
      expect(s.get("ExecStart")![0]).toMatch(/^\/usr\/bin\/node --import tsx \/opt\/mailharbor\/scripts\/start\.ts$/);
      const dataDir = s
        .get("Environment")!
        .join(" ")
        .match(/MAILHARBOR_DATA_DIR=(\S+)/)![1];
      expect(s.get("ReadWritePaths")).toEqual([dataDir]);
      expect(dataDir).toBe(`/var/lib/${s.get("StateDirectory")![0]}`);
    });
  }

  it("binds ports 25 and 366 through CAP_NET_BIND_SERVICE only where the MX and ODMR listen", () => {
    for (const unit of ["mailharbor.service", "mailharbor-mailer.service"]) {
      expect(serviceSettings(unit).get("AmbientCapabilities")).toEqual(["CAP_NET_BIND_SERVICE"]);
      expect(serviceSettings(unit).get("CapabilityBoundingSet")).toEqual(["CAP_NET_BIND_SERVICE"]);
    }
    expect(serviceSettings("mailharbor-portal.service").get("AmbientCapabilities")).toBeUndefined();
    expect(serviceSettings("mailharbor-portal.service").get("CapabilityBoundingSet")).toEqual([""]);
  });

  it("runs each component alone through MAILHARBOR_COMPONENTS", () => {
    expect(serviceSettings("mailharbor-mailer.service").get("Environment")!.join(" ")).toMatch(/MAILHARBOR_COMPONENTS=mailer\b/);
    expect(serviceSettings("mailharbor-portal.service").get("Environment")!.join(" ")).toMatch(/MAILHARBOR_COMPONENTS=portal\b/);
  });

  it("ships an environment file example that sets only settings the configuration knows", async () => {
    const { loadConfig } = await import("../../lib/config/config.ts");
    const lines = fs
      .readFileSync(path.join(DIR, "mailharbor.env.example"), "utf8")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l));
    const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(Object.keys(env)).toEqual(expect.arrayContaining(["MX_PORT", "ODMR_PORT", "MAIL_HOSTNAME"]));
    expect(env.MAILHARBOR_DATA_DIR).toBeUndefined(); // each unit sets its own
    const saved = { ...process.env };
    try {
      Object.assign(process.env, env);
      expect(() => loadConfig()).not.toThrow();
    } finally {
      for (const key of Object.keys(env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
