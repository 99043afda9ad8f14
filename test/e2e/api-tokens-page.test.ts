// Staff manage API tokens in a real browser: create one (shown once), use it over HTTP, revoke it,
// and the next call with it is refused. Customers' users do not see the page.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { launchChromium, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();

describe("portal: API tokens", () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;
  let customerId = "";

  const api = (token: string, route: string) => fetch(`${portal.url}/api/v1${route}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    customerId = (await createCustomer(CLI_ACTOR, { name: "Token Customer" })).id;
    await createCustomer(CLI_ACTOR, { name: "Other Customer" });
    await createPortalUser(CLI_ACTOR, { email: "ops@isp.example", role: "staff", password: "staff-password-1" });
    await createPortalUser(CLI_ACTOR, { email: "it@token.example", role: "customer", customer: customerId, password: "customer-password-1" });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it("creates a token shown once, which works until it is revoked", async () => {
    await submitLogin(page, portal.url, "ops@isp.example", "staff-password-1");
    await page.waitForURL((u) => u.pathname.startsWith("/staff"));
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API tokens" }).click();
    await page.waitForURL((u) => u.pathname === "/staff/api-tokens");

    const form = page.getByRole("form", { name: "New API token" });
    await form.getByLabel("Name").fill("billing");
    await form.getByLabel("provision").check();
    await form.getByLabel("Customer").selectOption({ label: "Token Customer" });
    await form.getByRole("button", { name: "Create token" }).click();
    const secret = (await page.getByTestId("secret-value").textContent())!.trim();
    expect(secret).toMatch(/^mh_[A-Za-z0-9]{40}$/);
    expect((await getDb().apiToken.findUniqueOrThrow({ where: { name: "billing" } })).scopes).toEqual(["read", "provision"]);
    await screenshot(page, "api-tokens-created");

    expect((await api(secret, `/customers/${customerId}`)).status).toBe(200);
    // the token is the customer's: the other customer is out of its reach
    expect((await api(secret, "/customers/Other%20Customer")).status).toBe(404);

    await page.reload();
    const row = page.getByRole("row", { name: /billing/ });
    await row.getByText(secret.slice(0, 11)).waitFor();
    await row.getByText("Token Customer").waitFor();
    expect(await page.content()).not.toContain(secret);

    page.once("dialog", (dialog) => void dialog.accept());
    await row.getByRole("button", { name: "Revoke billing" }).click();
    // the row's revoke button gives way to the revoked badge and time
    await page
      .getByRole("row", { name: /billing/ })
      .getByText("revoked", { exact: true })
      .waitFor();
    const refused = await api(secret, `/customers/${customerId}`);
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe("AUTH_FAILED");
  });

  it("refuses a token without a scope or with a taken name, with the reason", async () => {
    await page.goto(`${portal.url}/staff/api-tokens`);
    const form = page.getByRole("form", { name: "New API token" });
    await form.getByLabel("Name").fill("nothing");
    await form.getByLabel("read").uncheck();
    await form.getByRole("button", { name: "Create token" }).click();
    await form.getByText(/give at least one scope/i).waitFor();
    await form.getByLabel("read").check();
    await form.getByLabel("Name").fill("billing");
    await form.getByRole("button", { name: "Create token" }).click();
    await form.getByText(/names are never reused/i).waitFor();
    expect(await getDb().apiToken.count()).toBe(1);
  });

  it("is not there for a customer's user", async () => {
    const context = await browser.newContext();
    const customerPage = await context.newPage();
    await submitLogin(customerPage, portal.url, "it@token.example", "customer-password-1");
    await customerPage.waitForURL((u) => u.pathname.startsWith("/my"));
    const response = await customerPage.goto(`${portal.url}/staff/api-tokens`);
    expect(response!.status()).toBe(404);
    await context.close();
  });
});
