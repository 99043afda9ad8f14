// A password change in a real browser against the real portal: every session signed in before it
// ends (another browser's cookie is refused at once, not after the 12 h the token is valid), and
// the account page's current-password check is throttled together with the sign-in form.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { choosePassword, launchChromium, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const EMAIL = "ops@isp.example";
const OLD = "first-password-1";
const NEW = "second-password-2";

let portal: Portal;
let browser: Browser;

async function signedIn(password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await submitLogin(page, portal.url, EMAIL, password);
  await page.waitForURL((u) => u.pathname.startsWith("/staff"));
  return { context, page };
}

async function changePassword(page: Page, current: string, next: string): Promise<void> {
  await page.goto(`${portal.url}/account`);
  await choosePassword(page, current, next);
}

/** What the portal answers to a request with exactly this cookie header (no browser involved). */
async function withCookie(cookie: string, pathname: string): Promise<{ status: number; location: string | null }> {
  const response = await fetch(`${portal.url}${pathname}`, { headers: { cookie }, redirect: "manual" });
  return { status: response.status, location: response.headers.get("location") };
}

beforeAll(async () => {
  await createPortalUser(CLI_ACTOR, { email: EMAIL, role: "staff", password: OLD });
  // no delays, so that the lock is reached quickly; the lock after 4 failures from one address
  portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { AUTH_DELAY_STEP_MS: "0", AUTH_LOCK_AFTER: "4" } });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

describe("a password change", () => {
  it("ends the sessions signed in before it: their cookies are refused at once", async () => {
    const desk = await signedIn(OLD);
    const laptop = await signedIn(OLD);
    const cookie = (await laptop.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    expect((await withCookie(cookie, "/staff")).status).toBe(200);

    await changePassword(desk.page, OLD, NEW);
    await desk.page.getByRole("form", { name: "Change password" }).getByText("Your password has been changed.").waitFor();

    // the other browser's session, and the same cookie sent by hand, are over
    const after = await withCookie(cookie, "/staff");
    expect(after.status).not.toBe(200);
    expect(after.location ?? "").toContain("/login");
    await laptop.page.goto(`${portal.url}/staff`);
    await laptop.page.waitForURL((u) => u.pathname === "/login");
    // so is the one that made the change
    await desk.page.goto(`${portal.url}/staff`);
    await desk.page.waitForURL((u) => u.pathname === "/login");
    // a new sign-in with the new password works as before
    const fresh = await signedIn(NEW);
    const freshCookie = (await fresh.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    expect((await withCookie(freshCookie, "/staff")).status).toBe(200);
    await Promise.all([desk.context.close(), laptop.context.close(), fresh.context.close()]);
  }, 120_000);

  it("throttles the current-password check: past the limit even the right password is refused for now", async () => {
    const { context, page } = await signedIn(NEW);
    const form = page.getByRole("form", { name: "Change password" });
    for (let i = 0; i < 4; i++) {
      await changePassword(page, `wrong-guess-${i}`, "third-password-3");
      await form.getByText("The current password is wrong.").waitFor();
    }
    await changePassword(page, NEW, "third-password-3");
    await form.getByText("Too many wrong passwords from this address; try again later.").waitFor();
    // the same throttle as the sign-in form: the address is locked there too
    const other = await (await browser.newContext()).newPage();
    await submitLogin(other, portal.url, EMAIL, NEW);
    await other.getByRole("alert").waitFor();
    expect(new URL(other.url()).pathname).toBe("/login");
    await context.close();
  }, 120_000);
});
