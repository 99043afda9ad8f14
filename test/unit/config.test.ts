import { describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config/config.ts";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({ MAIL_HOSTNAME: "mx.isp.example" });
    expect([c.MX_PORT, c.ODMR_PORT, c.ODMRS_PORT, c.PORT]).toEqual([25, 366, 1366, 3000]);
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.PORTAL_STAFF_TOTP).toBe("optional");
    expect(loadConfig({ MAIL_HOSTNAME: "mx.isp.example", PORTAL_STAFF_TOTP: "required" }).PORTAL_STAFF_TOTP).toBe("required");
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
  ])("names the variable of a wrong value: %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
