import { describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config/config.ts";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({ MAIL_HOSTNAME: "mx.isp.example" });
    expect([c.MX_PORT, c.ODMR_PORT, c.ODMRS_PORT, c.PORT]).toEqual([25, 366, 1366, 3000]);
    expect(c.dataDir).toMatch(/\/data$/);
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
    [{ STAFF_NOTIFY_EMAIL: "noc" }, /^STAFF_NOTIFY_EMAIL: /],
    [{ NOTIFY_RETRY_BASE_SECONDS: "0" }, /^NOTIFY_RETRY_BASE_SECONDS: /],
  ])("names the variable of a wrong value: %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
