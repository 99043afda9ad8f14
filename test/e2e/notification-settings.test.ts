// A customer's notification settings in a real browser: a contact address and a webhook URL are
// saved, the webhook signing secret is shown once (and verifies a signature made with it), a bad
// URL gets a clear message next to its field, and a form pointed at another customer's id changes
// nothing there and answers "not found".
import crypto from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { getNotificationSettings, updateNotificationSettings } from "../../lib/notifications/notification-settings.ts";
import { signWebhook, verifyWebhook } from "../../lib/notifications/webhook-signature.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { launchChromium, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const PASSWORD = "customer-password-1";

describe("portal: notification settings", () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;
  let ownId = "";
  let otherId = "";

  beforeAll(async () => {
    const own = await createCustomer(CLI_ACTOR, { name: "Alerted" });
    const other = await createCustomer(CLI_ACTOR, { name: "Untouched" });
    ownId = own.id;
    otherId = other.id;
    await updateNotificationSettings(CLI_ACTOR, other.id, { email: "ops@untouched.example" });
    await createPortalUser(CLI_ACTOR, { email: "desk@alerted.example", role: "customer", customer: own.id, password: PASSWORD });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    await submitLogin(page, portal.url, "desk@alerted.example", PASSWORD);
    await page.waitForURL((u) => u.pathname.startsWith("/my"));
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it("saves a contact address and a webhook, showing the signing secret once", async () => {
    await page.getByRole("link", { name: "Notifications" }).click();
    await page.waitForURL((u) => u.pathname === "/my/notifications");
    const form = page.getByRole("form", { name: "Notification settings" });
    await form.getByLabel("Contact e-mail").fill("ops@alerted.example");
    await form.getByLabel("Webhook URL").fill("https://hooks.alerted.example/mailharbor");
    await form.getByLabel("Not collected for (hours)").fill("12");
    await form.getByRole("button", { name: "Save notification settings" }).click();
    await form.getByText("Notification settings saved.").waitFor();
    const secret = (await page.getByTestId("secret-value").textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    await screenshot(page, "notification-settings");
    // the secret shown is the one the mailer signs with
    const body = JSON.stringify({ hello: "world" });
    expect(verifyWebhook(secret, body, signWebhook(secret, body, Math.floor(Date.now() / 1000)))).toBe(true);
    const row = await getDb().notificationSettings.findUniqueOrThrow({ where: { customerId: ownId } });
    expect(row.webhookSecretEnc).not.toContain(secret);
    expect(await getNotificationSettings(CLI_ACTOR, ownId)).toMatchObject({
      email: "ops@alerted.example",
      webhookUrl: "https://hooks.alerted.example/mailharbor",
      uncollectedHours: 12,
      hasWebhookSecret: true,
    });

    await page.reload();
    expect(await page.getByTestId("secret-value").count()).toBe(0);
    await expect.poll(() => form.getByLabel("Contact e-mail").inputValue()).toBe("ops@alerted.example");
  });

  it("says what is wrong with a bad webhook URL next to the field", async () => {
    const form = page.getByRole("form", { name: "Notification settings" });
    await form.getByLabel("Webhook URL").fill("ftp://user:pw@hooks.example/");
    await form.getByRole("button", { name: "Save notification settings" }).click();
    await form.getByText("Must be an http:// or https:// URL without credentials.").waitFor();
    expect((await getNotificationSettings(CLI_ACTOR, ownId)).webhookUrl).toBe("https://hooks.alerted.example/mailharbor");
  });

  it("the other customer's id: a form pointed at it changes nothing and answers not found", async () => {
    const form = page.getByRole("form", { name: "Notification settings" });
    await form.getByLabel("Webhook URL").fill("https://hooks.alerted.example/mailharbor");
    await form.locator('input[name="customerId"]').evaluate((input, id) => ((input as HTMLInputElement).value = id), otherId);
    await form.getByLabel("Contact e-mail").fill(`thief-${crypto.randomUUID().slice(0, 6)}@alerted.example`);
    await form.getByRole("button", { name: "Save notification settings" }).click();
    await form.getByText("Not found. It may have been deleted, or the link is wrong.").waitFor();
    expect((await getNotificationSettings(CLI_ACTOR, otherId)).email).toBe("ops@untouched.example");
    expect((await getNotificationSettings(CLI_ACTOR, ownId)).email).toBe("ops@alerted.example");
  });
});
