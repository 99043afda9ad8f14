// Everyone's own account in a real browser: changing one's password (with clear errors for a
// wrong current password and a mistyped repeat), logging out, and logging in again with the new
// password while the old one no longer works.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createPortalUser, verifyPortalLogin } from "../../lib/users/users.ts";
import { launchChromium, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const EMAIL = "desk@isp.example";
const OLD = "first-password-1";
const NEW = "second-password-2";

describe("portal: own account", () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;

  const logIn = (password: string) => submitLogin(page, portal.url, EMAIL, password);

  beforeAll(async () => {
    await createPortalUser(CLI_ACTOR, { email: EMAIL, role: "staff", password: OLD });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it("changes the password, refusing a wrong current one and a mistyped repeat", async () => {
    await logIn(OLD);
    await page.waitForURL((u) => u.pathname.startsWith("/staff"));
    await page.goto(`${portal.url}/account`);
    const form = page.getByRole("form", { name: "Change password" });
    const submit = async (current: string, next: string, repeat: string) => {
      await form.getByLabel("Current password", { exact: true }).fill(current);
      await form.getByLabel("New password", { exact: true }).fill(next);
      await form.getByLabel("Repeat the new password", { exact: true }).fill(repeat);
      await form.getByRole("button", { name: "Change password" }).click();
    };
    await submit("not-my-password", NEW, NEW);
    await form.getByText("The current password is wrong.").waitFor();
    await submit(OLD, NEW, "second-password-3");
    await form.getByText("The two new passwords differ.").waitFor();
    expect(await verifyPortalLogin(EMAIL, OLD)).not.toBeNull();
    await submit(OLD, NEW, NEW);
    await form.getByText("Your password has been changed.").waitFor();
    expect(await verifyPortalLogin(EMAIL, NEW)).not.toBeNull();
    expect(await verifyPortalLogin(EMAIL, OLD)).toBeNull();
  });

  it("logs out, then lets the new password in and not the old one", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL((u) => u.pathname === "/login");
    await page.goto(`${portal.url}/staff`);
    await page.waitForURL((u) => u.pathname === "/login");
    await logIn(OLD);
    await page.getByRole("alert").waitFor();
    expect(new URL(page.url()).pathname).toBe("/login");
    await logIn(NEW);
    await page.waitForURL((u) => u.pathname.startsWith("/staff"));
  });
});
