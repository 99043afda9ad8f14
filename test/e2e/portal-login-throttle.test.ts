// Portal logins through next-auth's credentials callback, as scripts use it: failures from one
// client slow down and then lock that client out, and a forged X-Forwarded-For does not help it
// (the portal takes the address from the socket); the account itself is never locked for others.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const PASSWORD = "a-long-password-1";

/** Logs in over HTTP; returns where next-auth sends the client and whether it got a session. */
async function logIn(url: string, email: string, password: string, forwardedFor: string) {
  const csrf = await fetch(`${url}/api/auth/csrf`);
  const cookie = (csrf.headers.getSetCookie() ?? []).map((c) => c.split(";")[0]).join("; ");
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const response = await fetch(`${url}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie, "x-forwarded-for": forwardedFor },
    body: new URLSearchParams({ email, password, csrfToken, callbackUrl: `${url}/` }),
  });
  const location = response.headers.get("location") ?? "";
  const session = (response.headers.getSetCookie() ?? []).some((c) => c.startsWith("next-auth.session-token="));
  return { location, session, error: new URL(location, url).searchParams.get("error") };
}

describe("portal login throttle", () => {
  let portal: Portal;

  beforeAll(async () => {
    await createPortalUser(CLI_ACTOR, { email: "ops@isp.example", role: "staff", password: PASSWORD });
    await createPortalUser(CLI_ACTOR, { email: "other@isp.example", role: "staff", password: PASSWORD });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { AUTH_DELAY_STEP_MS: "10", AUTH_LOCK_AFTER: "4" } });
  });

  afterAll(async () => {
    await portal?.stop();
  });

  it("lets the right password in", async () => {
    const ok = await logIn(portal.url, "ops@isp.example", PASSWORD, "198.51.100.1");
    expect(ok.session).toBe(true);
    expect(ok.error).toBeNull();
  });

  it("refuses a wrong password without a session", async () => {
    const bad = await logIn(portal.url, "ops@isp.example", "wrong-password-0", "198.51.100.2");
    expect(bad.session).toBe(false);
    expect(bad.error).toBe("CredentialsSignin");
  });

  it("locks the client out after repeated failures, whatever X-Forwarded-For it sends", async () => {
    for (let i = 3; i <= 5; i++) {
      const bad = await logIn(portal.url, "ops@isp.example", `wrong-password-${i}`, `203.0.113.${i}`);
      expect(bad.error).toBe("CredentialsSignin");
    }
    const locked = await logIn(portal.url, "other@isp.example", PASSWORD, "192.0.2.200");
    expect(locked.session).toBe(false);
    expect(locked.error).toBe("THROTTLED");
  });
});
