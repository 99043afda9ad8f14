// Two-factor sign-in (TOTP, RFC 6238) in a real browser against the real portal: a customer sets it
// up on the account page (the code computed here from the secret the page shows), then signing in
// asks for a code after the password; a wrong or reused code is refused, a recovery code works
// once; staff reset it, and customer B's replay of that reset is refused. With
// PORTAL_STAFF_TOTP=required, a staff user without it is held on the set-up page first.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { totpCode } from "../../lib/auth/totp.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { captureServerAction, launchChromium, replayServerAction, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const PASSWORD = "a-long-password-1";

let portal: Portal;
let browser: Browser;
const ids = { alphaUser: "" };
const shared = { secret: "", code: "", recovery: [] as string[] };

async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("dialog", (d) => void d.accept());
  return { context, page };
}

/** Clicks "Set up", reads the secret the page shows, turns it on with a code from it; the recovery codes. */
async function enrol(page: Page, name: string): Promise<{ secret: string; code: string; recovery: string[] }> {
  await page.getByRole("button", { name: "Set up two-factor sign-in" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  expect(await page.getByRole("img", { name: "QR code of the two-factor secret" }).locator("svg path").count()).toBeGreaterThan(0);
  await screenshot(page, `${name}-enrol`);
  const form = page.getByRole("form", { name: "Confirm two-factor sign-in" });
  const code = totpCode(secret, Date.now());
  await form.getByLabel("Code from the app").fill(code === "123456" ? "654321" : "123456");
  await form.getByRole("button", { name: "Turn on" }).click();
  await form.getByText("That code is not right").waitFor();
  await form.getByLabel("Code from the app").fill(code);
  await form.getByRole("button", { name: "Turn on" }).click();
  await form.getByText("Two-factor sign-in is on.").waitFor();
  const recovery = (await form.getByTestId("secret-value").textContent())!.trim().split(/\s+/);
  await screenshot(page, `${name}-recovery-codes`);
  return { secret, code, recovery };
}

/** Password, then (when asked) the code; the page. */
async function signInWithCode(page: Page, email: string, code: string): Promise<void> {
  await submitLogin(page, portal.url, email, PASSWORD);
  const field = page.getByLabel("Authentication code");
  await field.waitFor();
  await field.fill(code);
  await page.getByRole("button", { name: "Log in" }).click();
}

beforeAll(async () => {
  const alpha = await createCustomer(CLI_ACTOR, { name: "Alpha" });
  const beta = await createCustomer(CLI_ACTOR, { name: "Beta" });
  await createPortalUser(CLI_ACTOR, { email: "ops@isp.example", role: "staff", password: PASSWORD });
  await createPortalUser(CLI_ACTOR, { email: "second@isp.example", role: "staff", password: PASSWORD });
  ids.alphaUser = (await createPortalUser(CLI_ACTOR, { email: "admin@alpha.example", role: "customer", customer: alpha.id, password: PASSWORD })).user.id;
  await createPortalUser(CLI_ACTOR, { email: "admin@beta.example", role: "customer", customer: beta.id, password: PASSWORD });
  portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { AUTH_DELAY_STEP_MS: "0", AUTH_LOCK_AFTER: "30" } });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

describe("two-factor sign-in", () => {
  it("a customer sets it up on the account page; then the password alone does not sign in, the code does, a wrong or reused one is refused", async () => {
    const { context, page } = await freshPage();
    await submitLogin(page, portal.url, "admin@alpha.example", PASSWORD);
    await page.waitForURL((u) => u.pathname === "/my");
    await page.goto(`${portal.url}/account`);
    Object.assign(shared, await enrol(page, "account-two-factor"));
    const sealed = await getDb().portalUser.findUniqueOrThrow({ where: { id: ids.alphaUser }, select: { totpSecretEnc: true, totpEnabledAt: true } });
    expect(sealed.totpEnabledAt).not.toBeNull();
    expect(sealed.totpSecretEnc).not.toContain(shared.secret);
    await context.close();

    const { context: again, page: login } = await freshPage();
    await submitLogin(login, portal.url, "admin@alpha.example", PASSWORD);
    await login.getByText("Enter the code from your authenticator app.").waitFor();
    await screenshot(login, "login-two-factor-code");
    expect(new URL(login.url()).pathname).toBe("/login");
    expect((await again.request.get(`${portal.url}/my`, { maxRedirects: 0 })).status()).not.toBe(200);
    // the code used to turn it on is used up; a wrong one is refused too
    const field = login.getByLabel("Authentication code");
    for (const code of [shared.code, shared.code === "000000" ? "111111" : "000000"]) {
      await field.fill(code);
      await login.getByRole("button", { name: "Log in" }).click();
      await login.getByText("That code is not right.").waitFor();
      expect(new URL(login.url()).pathname).toBe("/login");
    }
    // the next step's code (within the ±1 window) signs in
    await field.fill(totpCode(shared.secret, Date.now() + 30_000));
    await login.getByRole("button", { name: "Log in" }).click();
    await login.waitForURL((u) => u.pathname === "/my");
    await again.close();
  }, 180_000);

  it("a recovery code signs in once", async () => {
    const first = await freshPage();
    await signInWithCode(first.page, "admin@alpha.example", shared.recovery[0]);
    await first.page.waitForURL((u) => u.pathname === "/my");
    await first.context.close();
    const second = await freshPage();
    await signInWithCode(second.page, "admin@alpha.example", shared.recovery[0]);
    await second.page.getByText("That code is not right.").waitFor();
    expect(new URL(second.page.url()).pathname).toBe("/login");
    await second.context.close();
    expect(await getDb().auditEvent.count({ where: { objectId: ids.alphaUser, action: "user.recovery_code_used" } })).toBe(1);
  }, 120_000);

  it("customer B's replay of the staff reset is refused; staff reset it and the password alone signs in again", async () => {
    const { context: staffContext, page: staff } = await freshPage();
    await submitLogin(staff, portal.url, "ops@isp.example", PASSWORD);
    await staff.waitForURL((u) => u.pathname === "/staff");
    await staff.goto(`${portal.url}/staff/users/${ids.alphaUser}`);
    await staff.getByText(/^on since .*\(9 recovery codes left\)$/).waitFor();
    const userUrl = `${portal.url}/staff/users/${ids.alphaUser}`;
    const captured = await captureServerAction(staff, userUrl, () => staff.getByRole("button", { name: "Reset two-factor sign-in" }).click());

    const beta = await freshPage();
    await submitLogin(beta.page, portal.url, "admin@beta.example", PASSWORD);
    await beta.page.waitForURL((u) => u.pathname === "/my");
    const replay = await replayServerAction(beta.context, userUrl, captured);
    expect(await replay.text()).toContain("Not found.");
    expect((await getDb().portalUser.findUniqueOrThrow({ where: { id: ids.alphaUser } })).totpEnabledAt).not.toBeNull();
    await beta.context.close();

    await staff.goto(`${portal.url}/staff/users/${ids.alphaUser}`);
    await staff.getByRole("button", { name: "Reset two-factor sign-in" }).click();
    await staff.getByText("Two-factor sign-in is off for this user.").waitFor();
    await screenshot(staff, "staff-user-two-factor-reset");
    const audit = await getDb().auditEvent.findFirstOrThrow({ where: { objectId: ids.alphaUser, action: "user.2fa_reset" } });
    expect(audit.actorLabel).toBe("ops@isp.example");
    await staffContext.close();

    const alpha = await freshPage();
    await submitLogin(alpha.page, portal.url, "admin@alpha.example", PASSWORD);
    await alpha.page.waitForURL((u) => u.pathname === "/my");
    await alpha.context.close();
  }, 180_000);

  it("with PORTAL_STAFF_TOTP=required, staff without it set it up before anything else; customers are not asked", async () => {
    const strict = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { AUTH_DELAY_STEP_MS: "0", PORTAL_STAFF_TOTP: "required" } });
    try {
      const { context, page } = await freshPage();
      await submitLogin(page, strict.url, "second@isp.example", PASSWORD);
      await page.waitForURL((u) => u.pathname === "/setup/two-factor");
      for (const path of ["/staff", "/staff/users", "/account"]) {
        const response = await context.request.get(`${strict.url}${path}`, { maxRedirects: 0 });
        expect(new URL(response.headers()["location"] ?? "/", strict.url).pathname, path).toBe("/setup/two-factor");
      }
      await page.goto(`${strict.url}/staff/queue`);
      await page.waitForURL((u) => u.pathname === "/setup/two-factor");
      await enrol(page, "setup-two-factor");
      await page.getByRole("link", { name: "continue to the portal" }).click();
      await page.waitForURL((u) => u.pathname === "/staff");
      await context.close();

      const customer = await freshPage();
      await submitLogin(customer.page, strict.url, "admin@beta.example", PASSWORD);
      await customer.page.waitForURL((u) => u.pathname === "/my");
      await customer.context.close();
    } finally {
      await strict.stop();
    }
  }, 240_000);
});
