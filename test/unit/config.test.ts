import { describe, expect, it } from "vitest";
import { loadConfig, logSettings } from "../../lib/config/config.ts";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({ MAIL_HOSTNAME: "mx.isp.example" });
    expect([c.MX_PORT, c.ODMR_PORT, c.ODMRS_PORT, c.PORT]).toEqual([25, 366, 1366, 3000]);
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.PORTAL_STAFF_TOTP).toBe("optional");
    expect(loadConfig({ MAIL_HOSTNAME: "mx.isp.example", PORTAL_STAFF_TOTP: "required" }).PORTAL_STAFF_TOTP).toBe("required");
    expect([c.STAFF_NOTIFY_EMAIL, c.NOTIFY_RETRY_BASE_SECONDS]).toEqual([undefined, 60]);
  });

  it.each([
    [{ MX_PORT: "70000" }, /^MX_PORT: /],
    [{ ODMR_PORT: "abc" }, /^ODMR_PORT: /],
    [{ DATABASE_URL: "mysql://x" }, /^DATABASE_URL: /],
    [{ MAIL_HOSTNAME: "bad host" }, /^MAIL_HOSTNAME: /],
    [{ SMARTHOST: "relay.example" }, /^SMARTHOST: /],
    [{ TLS_CERT_FILE: "/x.pem" }, /^TLS_KEY_FILE: /],
    [{ MAILHARBOR_SECRET_KEY: "short" }, /^MAILHARBOR_SECRET_KEY: /],
    [{ PORTAL_STAFF_TOTP: "yes" }, /^PORTAL_STAFF_TOTP: must be optional or required/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL: /],
    [{ MAILHARBOR_COMPONENT: "Mailer Two" }, /^MAILHARBOR_COMPONENT: /],
    [{ DATABASE_POOL_SIZE: "0" }, /^DATABASE_POOL_SIZE: /],
    [{ DATABASE_POOL_SIZE: "ten" }, /^DATABASE_POOL_SIZE: /],
    [{ INITIAL_ADMIN_EMAIL: "admin" }, /^INITIAL_ADMIN_EMAIL: /],
    [{ NEXTAUTH_URL: "portal.example" }, /^NEXTAUTH_URL: /],
    [{ NEXTAUTH_URL: "ftp://portal.example" }, /^NEXTAUTH_URL: /],
    [{ STAFF_NOTIFY_EMAIL: "noc" }, /^STAFF_NOTIFY_EMAIL: /],
    [{ NOTIFY_RETRY_BASE_SECONDS: "0" }, /^NOTIFY_RETRY_BASE_SECONDS: /],
  ])("names the variable of a wrong value: %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("reads LOG_LEVEL, MAILHARBOR_COMPONENT, DATABASE_POOL_SIZE, INITIAL_ADMIN_EMAIL and NEXTAUTH_URL through the schema", () => {
    const defaults = loadConfig({ MAIL_HOSTNAME: "mx.isp.example" });
    expect([defaults.LOG_LEVEL, defaults.MAILHARBOR_COMPONENT, defaults.DATABASE_POOL_SIZE, defaults.INITIAL_ADMIN_EMAIL, defaults.NEXTAUTH_URL]).toEqual([
      "info",
      "mailharbor",
      10,
      "admin@mailharbor.local",
      undefined,
    ]);
    const set = loadConfig({
      MAIL_HOSTNAME: "mx.isp.example",
      LOG_LEVEL: "debug",
      MAILHARBOR_COMPONENT: "mailer",
      DATABASE_POOL_SIZE: "25",
      INITIAL_ADMIN_EMAIL: " Ops@ISP.example ",
      NEXTAUTH_URL: "https://portal.isp.example",
    });
    expect([set.LOG_LEVEL, set.MAILHARBOR_COMPONENT, set.DATABASE_POOL_SIZE, set.INITIAL_ADMIN_EMAIL, set.NEXTAUTH_URL]).toEqual([
      "debug",
      "mailer",
      25,
      "ops@isp.example",
      "https://portal.isp.example",
    ]);
  });

  it("gives the logger its settings, and the defaults for a wrong value (loadConfig then names it)", () => {
    expect(logSettings({ LOG_LEVEL: "warn", MAILHARBOR_COMPONENT: "portal" })).toEqual({ LOG_LEVEL: "warn", MAILHARBOR_COMPONENT: "portal" });
    expect(logSettings({ LOG_LEVEL: "loud" })).toEqual({ LOG_LEVEL: "info", MAILHARBOR_COMPONENT: "mailharbor" });
  });
});
