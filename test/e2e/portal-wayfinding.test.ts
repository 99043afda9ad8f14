// Finding one's way in the portal: the first steps on an empty dashboard, back to the page asked
// for after logging in, breadcrumbs, internationalized domain names in Unicode with their A-label,
// an audit log that names objects and shows what changed, and a menu that shows every item on a
// phone (390 px), for staff and for a customer, and a customer never sees another's.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { createLogin } from "../../lib/logins/logins.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { launchChromium, logIn, screenshot } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const PASSWORD = "a-long-password-1";
const STAFF = "ops@isp.example";

describe("portal: finding one's way", () => {
  let portal: Portal;
  let browser: Browser;
  let staff: Page;
  const ids = { alpha: "", beta: "", alphaLogin: "", betaLogin: "", idn: "" };

  beforeAll(async () => {
    await createPortalUser(CLI_ACTOR, { email: STAFF, role: "staff", password: PASSWORD });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { MAIL_HOSTNAME: "mx.isp.example" } });
    browser = await launchChromium();
    staff = await logIn(await browser.newContext(), portal.url, STAFF, PASSWORD);
  });

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it("an empty dashboard says what to do first, and ticks off what is done", async () => {
    await staff.goto(`${portal.url}/staff`);
    const steps = staff.getByTestId("getting-started");
    await steps.waitFor();
    const text = (await steps.textContent()) ?? "";
    for (const step of ["Create a customer", "Create an ODMR login", "Add a domain", "Point the domain's MX here"]) expect(text).toContain(step);
    expect(text).toContain("IN MX 10 mx.isp.example.");
    expect(text).not.toContain("(done)");
    await screenshot(staff, "wayfinding-empty-dashboard");

    const alpha = await createCustomer(CLI_ACTOR, { name: "Alpha" });
    const beta = await createCustomer(CLI_ACTOR, { name: "Beta" });
    await createDomain(CLI_ACTOR, { customer: alpha.id, name: "alpha.example", recipientPolicy: "accept_all" });
    await createDomain(CLI_ACTOR, { customer: beta.id, name: "beta.example", recipientPolicy: "accept_all" });
    await staff.reload();
    expect(await staff.getByText("Create a customer (done)").count()).toBe(1);
    expect(await staff.getByText("Add a domain (done)").count()).toBe(1);
    expect(await staff.getByText("Create an ODMR login (done)").count()).toBe(0);
    ids.alpha = alpha.id;
    ids.beta = beta.id;
    ids.alphaLogin = (await createLogin(CLI_ACTOR, { customer: alpha.id, login: "alpha" })).login.id;
    ids.betaLogin = (await createLogin(CLI_ACTOR, { customer: beta.id, login: "beta" })).login.id;
    await createPortalUser(CLI_ACTOR, { email: "admin@alpha.example", role: "customer", customer: alpha.id, password: PASSWORD });
    await createPortalUser(CLI_ACTOR, { email: "admin@beta.example", role: "customer", customer: beta.id, password: PASSWORD });
  });

  it("comes back to the page asked for after logging in, and never follows a link off the site", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${portal.url}/staff/customers?q=alp`);
    await page.waitForURL((u) => u.pathname === "/login");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/staff/customers?q=alp");
    await page.getByLabel("E-mail").fill(STAFF);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL((u) => u.pathname === "/staff/customers" && u.search === "?q=alp");
    await page.getByRole("link", { name: "Alpha" }).waitFor();
    await context.close();

    // the customer's path
    const own = await (await browser.newContext()).newPage();
    await own.goto(`${portal.url}/my/sessions`);
    await own.waitForURL((u) => u.pathname === "/login");
    await own.getByLabel("E-mail").fill("admin@alpha.example");
    await own.getByLabel("Password").fill(PASSWORD);
    await own.getByRole("button", { name: "Log in" }).click();
    await own.waitForURL((u) => u.pathname === "/my/sessions");
    await own.context().close();

    // another site in ?next= is ignored: the user lands on the portal's own start page
    const tricked = await (await browser.newContext()).newPage();
    await tricked.goto(`${portal.url}/login?next=${encodeURIComponent("//evil.example/x")}`);
    await tricked.getByLabel("E-mail").fill(STAFF);
    await tricked.getByLabel("Password").fill(PASSWORD);
    await tricked.getByRole("button", { name: "Log in" }).click();
    await tricked.waitForURL((u) => u.pathname === "/staff");
    expect(new URL(tricked.url()).host).toBe(new URL(portal.url).host);
    await tricked.context().close();
  });

  it("shows internationalized domain names in Unicode with the A-label beside them", async () => {
    await staff.goto(`${portal.url}/staff/customers/${ids.alpha}`);
    const form = staff.getByRole("form", { name: "Add a domain" });
    await form.getByLabel("Domain name").fill("Bücher.example");
    await form.getByLabel("Recipients", { exact: true }).selectOption("accept_all");
    await form.getByRole("button", { name: "Add domain" }).click();
    await staff.waitForURL(/\/staff\/domains\/[0-9a-f-]{36}$/);
    ids.idn = new URL(staff.url()).pathname.split("/").pop()!;
    await staff.getByRole("heading", { name: "bücher.example" }).waitFor();
    expect(await staff.getByTestId("a-label").textContent()).toBe("xn--bcher-kva.example");
    // the notice of the redirect
    await staff.getByTestId("flash-notice").filter({ hasText: "Domain bücher.example added." }).waitFor();
    await screenshot(staff, "wayfinding-idn-domain");
    await staff.goto(`${portal.url}/staff/domains`);
    const row = staff.getByRole("row").filter({ hasText: "bücher.example" });
    expect(await row.textContent()).toContain("(xn--bcher-kva.example)");

    const own = await logIn(await browser.newContext(), portal.url, "admin@alpha.example", PASSWORD);
    const mine = own.getByRole("region", { name: "Your domains" }).getByRole("row").filter({ hasText: "bücher.example" });
    expect(await mine.textContent()).toContain("(xn--bcher-kva.example)");
    await own.context().close();
  });

  it("puts breadcrumbs on the detail pages, for staff and for the customer, and B cannot reach A's", async () => {
    await staff.goto(`${portal.url}/staff/domains/${ids.idn}`);
    const trail = staff.getByRole("navigation", { name: "Breadcrumb" });
    expect(await trail.getByRole("link").allTextContents()).toEqual(["Customers", "Alpha"]);
    await trail.getByRole("link", { name: "Alpha" }).click();
    await staff.waitForURL((u) => u.pathname === `/staff/customers/${ids.alpha}`);
    expect(await staff.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link").allTextContents()).toEqual(["Customers"]);

    const alpha = await logIn(await browser.newContext(), portal.url, "admin@alpha.example", PASSWORD);
    await alpha.goto(`${portal.url}/my/logins/${ids.alphaLogin}`);
    const own = alpha.getByRole("navigation", { name: "Breadcrumb" });
    expect(await own.getByRole("link").allTextContents()).toEqual(["Overview"]);
    expect(await own.locator("[aria-current=page]").textContent()).toBe("Login alpha");
    await screenshot(alpha, "wayfinding-customer-breadcrumbs");
    // customer B asks for A's login page: not found, and nothing of A's in the trail
    const beta = await logIn(await browser.newContext(), portal.url, "admin@beta.example", PASSWORD);
    const response = await beta.goto(`${portal.url}/my/logins/${ids.alphaLogin}`);
    expect(response?.status()).toBe(404);
    expect(await beta.getByRole("navigation", { name: "Breadcrumb" }).count()).toBe(0);
    expect(await beta.content()).not.toContain("Login alpha");
    await alpha.context().close();
    await beta.context().close();
  });

  it("names objects in the audit log and shows only what an update changed", async () => {
    await staff.goto(`${portal.url}/staff/domains/${ids.idn}`);
    const settings = staff.getByRole("form", { name: "Domain settings" });
    await settings.getByLabel("Retention (days)").fill("12");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await settings.getByRole("status").waitFor();
    await staff.goto(`${portal.url}/staff/audit?action=domain.update`);
    const row = staff.getByRole("region", { name: "Audit events" }).locator("tbody tr").first();
    const text = (await row.textContent()) ?? "";
    expect(text).toContain("xn--bcher-kva.example");
    expect(text).not.toContain(ids.idn);
    expect(await row.getByTestId("audit-change").allTextContents()).toEqual(["retentionDays: 30 → 12"]);
    expect(text).not.toContain("etrnTls");
    expect(await row.getByRole("link", { name: "Alpha" }).count()).toBe(1);
    await screenshot(staff, "wayfinding-audit");
    // saving again without a change writes no event
    await staff.goto(`${portal.url}/staff/domains/${ids.idn}`);
    await staff.getByRole("form", { name: "Domain settings" }).getByRole("button", { name: "Save settings" }).click();
    await staff.getByRole("form", { name: "Domain settings" }).getByRole("status").waitFor();
    expect(await getDb().auditEvent.count({ where: { action: "domain.update", objectId: ids.idn } })).toBe(1);
  });

  it("shows every menu item on a 390 px phone, for staff and for a customer", async () => {
    for (const [email, items] of [
      [STAFF, ["Dashboard", "Queue", "Customers", "Domains", "Sessions", "Audit log", "Users", "API tokens"]],
      ["admin@alpha.example", ["Overview", "Held mail", "Sessions"]],
    ] as const) {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
      const page = await logIn(context, portal.url, email, PASSWORD);
      const nav = page.getByRole("navigation", { name: "Main" });
      for (const item of items) {
        const box = await nav.getByRole("link", { name: item, exact: true }).boundingBox();
        expect(box, item).not.toBeNull();
        expect(box!.x, item).toBeGreaterThanOrEqual(0);
        expect(box!.x + box!.width, item).toBeLessThanOrEqual(390);
      }
      await screenshot(page, `wayfinding-mobile-menu-${email.startsWith("ops") ? "staff" : "customer"}`);
      await context.close();
    }
  });
});
