// Debian's Chromium driven by playwright-core (its own browser download is unreachable here).
// launch() gives every browser a fresh temporary profile (--user-data-dir) and removes it on close.
import fs from "node:fs";
import path from "node:path";
import { chromium, type APIResponse, type Browser, type BrowserContext, type Page } from "playwright-core";
import { expect } from "vitest";

export const ARTIFACTS = path.resolve("test-artifacts");

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Saves a full-page screenshot under test-artifacts/ (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Fills in and submits the portal's login form; the caller waits for where it should land. */
export async function submitLogin(page: Page, portalUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${portalUrl}/login`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** A new page in `context`, logged in and landed on the user's start (/staff or /my). */
export async function logIn(context: BrowserContext, portalUrl: string, email: string, password: string): Promise<Page> {
  const page = await context.newPage();
  await submitLogin(page, portalUrl, email, password);
  await page.waitForURL((u) => /^\/(staff|my)(\/|$)/.test(u.pathname));
  return page;
}

/** Fills in and submits the "Change password" form (a one-time password's forced change, or the account page's). */
export async function choosePassword(page: Page, current: string, next: string): Promise<void> {
  const form = page.getByRole("form", { name: "Change password" });
  await form.getByLabel(/^(One-time|Current) password$/).fill(current);
  await form.getByLabel("New password", { exact: true }).fill(next);
  await form.getByLabel("Repeat the new password", { exact: true }).fill(next);
  await form.getByRole("button", { name: "Change password" }).click();
}

/** A server-action post as the browser sent it, kept from reaching the portal. */
export interface CapturedAction {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Runs `act` (a click that posts a server action to `url`) and returns that post, stopped before
 * it reaches the portal, so that a test can replay it with another session (replayServerAction).
 */
export async function captureServerAction(page: Page, url: string, act: () => Promise<void>): Promise<CapturedAction> {
  let captured: CapturedAction | null = null;
  await page.route(url, async (route) => {
    const request = route.request();
    if (request.method() === "POST" && request.headers()["next-action"]) {
      captured = { headers: request.headers(), body: request.postDataBuffer()! };
      await route.abort();
    } else {
      await route.continue();
    }
  });
  await act();
  await expect.poll(() => captured !== null).toBe(true);
  await page.unroute(url);
  return captured!;
}

/** Posts a captured server action again, with `context`'s session instead of the one it was made with. */
export function replayServerAction(context: BrowserContext, url: string, action: CapturedAction): Promise<APIResponse> {
  return context.request.post(url, {
    headers: Object.fromEntries(Object.entries(action.headers).filter(([k]) => !["cookie", "content-length", "host"].includes(k))),
    data: action.body,
    maxRedirects: 0,
  });
}
