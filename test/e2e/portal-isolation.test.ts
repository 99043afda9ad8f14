// Customer A, signed in to the portal, tries customer B's ids in every URL it can build and in
// server-action posts it can craft; it gets "not found" every time and B's objects do not change.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { cramMd5Digest } from "../../lib/auth/cram-md5.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { createLogin } from "../../lib/logins/logins.ts";
import { verifyOdmrCramMd5 } from "../../lib/logins/verify-odmr-login.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { captureServerAction, launchChromium, replayServerAction, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const PASSWORD = "a-long-password-1";

async function logIn(context: BrowserContext, url: string, email: string): Promise<Page> {
  const page = await context.newPage();
  await submitLogin(page, url, email, PASSWORD);
  await page.waitForURL((u) => /^\/(staff|my)(\/|$)/.test(u.pathname));
  return page;
}

describe("portal: one customer cannot reach another's objects", () => {
  let portal: Portal;
  let browser: Browser;
  let alpha: BrowserContext;
  let staffContext: BrowserContext;
  const ids = { a: "", b: "", aDomain: "", bDomain: "", aLogin: "", bLogin: "", aMessage: "", bMessage: "", bSecret: "" };

  beforeAll(async () => {
    const a = await createCustomer(CLI_ACTOR, { name: "Alpha" });
    const b = await createCustomer(CLI_ACTOR, { name: "Beta" });
    const aDomain = await createDomain(CLI_ACTOR, { customer: a.id, name: "alpha.example", recipientPolicy: "accept_all" });
    const bDomain = await createDomain(CLI_ACTOR, { customer: b.id, name: "beta.example", recipients: ["secret-person@beta.example"] });
    const aLogin = await createLogin(CLI_ACTOR, { customer: a.id, login: "alpha" });
    const bLogin = await createLogin(CLI_ACTOR, { customer: b.id, login: "beta" });
    const raw = (subject: string) => Buffer.from(`From: x@sender.example\r\nSubject: ${subject}\r\n\r\nbody\r\n`);
    const aMessage = await storeMessage({ mailFrom: "x@sender.example", raw: raw("For Alpha"), summary: { subject: "For Alpha" }, recipients: [{ address: "u@alpha.example", domainId: aDomain.id, customerId: a.id }] });
    const bMessage = await storeMessage({ mailFrom: "y@sender.example", raw: raw("Beta confidential"), summary: { subject: "Beta confidential" }, recipients: [{ address: "secret-person@beta.example", domainId: bDomain.id, customerId: b.id }] });
    await getDb().odmrSession.createMany({ data: [
      { loginId: aLogin.login.id, customerId: a.id, loginName: "alpha", remoteAddress: "198.51.100.7", domainsRequested: ["alpha.example"], reply: "453 You have no mail", endedAt: new Date() },
      { loginId: bLogin.login.id, customerId: b.id, loginName: "beta", remoteAddress: "203.0.113.99", domainsRequested: ["beta.example"], reply: "250 OK now reversing the connection", endedAt: new Date() },
    ] });
    await createPortalUser(CLI_ACTOR, { email: "admin@alpha.example", role: "customer", customer: a.id, password: PASSWORD });
    await createPortalUser(CLI_ACTOR, { email: "ops@isp.example", role: "staff", password: PASSWORD });
    Object.assign(ids, {
      a: a.id, b: b.id, aDomain: aDomain.id, bDomain: bDomain.id, aLogin: aLogin.login.id, bLogin: bLogin.login.id,
      aMessage, bMessage, bSecret: bLogin.secret,
    });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir });
    browser = await launchChromium();
    alpha = await browser.newContext();
    staffContext = await browser.newContext();
    await logIn(alpha, portal.url, "admin@alpha.example");
  });

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it("every URL with B's ids answers not found, exactly like an id that does not exist", async () => {
    const get = async (path: string) => {
      const response = await alpha.request.get(`${portal.url}${path}`, { maxRedirects: 0 });
      return { status: response.status(), text: await response.text() };
    };
    // A's own objects are there (so the URLs below are the right ones)
    expect((await get(`/my/mail/${ids.aMessage}`)).text).toContain("For Alpha");
    expect((await get(`/my/mail/${ids.aMessage}/eml`)).text).toContain("Subject: For Alpha");
    expect((await get(`/my/logins/${ids.aLogin}`)).status).toBe(200);

    const missing = await get("/my/mail/0000000000ZZZZZZ");
    expect(missing.status).toBe(404);
    const probes = [
      `/my/mail/${ids.bMessage}`, `/my/mail/${ids.bMessage}/eml`, `/my/logins/${ids.bLogin}`, `/my/mail?domain=${ids.bDomain}`,
      `/my/mail?domain=beta.example`,
      `/staff`, `/staff/queue`, `/staff/customers`, `/staff/customers/${ids.b}`, `/staff/domains/${ids.bDomain}`,
      `/staff/domains/${ids.bDomain}/recipients.csv`, `/staff/logins/${ids.bLogin}`, `/staff/queue/${ids.bMessage}`,
      `/staff/queue/${ids.bMessage}/eml`, `/staff/sessions?customerId=${ids.b}`, `/staff/audit?customerId=${ids.b}`, `/staff/users`,
    ];
    for (const path of probes) {
      const { status, text } = await get(path);
      expect(status, path).toBe(404);
      expect(text, path).toMatch(/Not found/);
      for (const leak of ["Beta confidential", "secret-person", "beta.example\"", "203.0.113.99", ids.bSecret]) expect(text, path).not.toContain(leak);
    }
    // lists are confined: B's sessions do not show, whatever login id is asked for
    for (const path of ["/my/sessions", `/my/sessions?loginId=${ids.bLogin}`, "/my/mail", "/my"]) {
      const { status, text } = await get(path);
      expect(status, path).toBe(200);
      for (const leak of ["Beta confidential", "203.0.113.99", "beta.example", ">Beta<"]) expect(text, path).not.toContain(leak);
    }
    expect((await get("/my/sessions")).text).toContain("198.51.100.7");
  });

  it("a download answers by the pages' access rule: signed out, the login page; a refused filter, not found", async () => {
    // signed out: each download sends to the login page and back, exactly like the page beside it
    for (const path of [
      `/my/mail/${ids.aMessage}`, `/my/mail/${ids.aMessage}/eml`, "/my/mail/export.csv?q=Alpha",
      `/staff/queue/${ids.bMessage}`, `/staff/queue/${ids.bMessage}/eml`, "/staff/queue/export.csv", `/staff/domains/${ids.bDomain}/recipients.csv`,
    ]) {
      const response = await fetch(`${portal.url}${path}`, { redirect: "manual" });
      expect(response.status, path).toBe(307);
      const location = new URL(response.headers.get("location") ?? "", portal.url);
      expect(location.pathname, path).toBe("/login");
      expect(location.searchParams.get("next"), path).toBe(path);
    }
    // a filter the core refuses (INVALID_INPUT): the held-mail list is "not found", and so is its export
    const tooLong = `q=${"x".repeat(201)}`;
    for (const path of [`/my/mail?${tooLong}`, `/my/mail/export.csv?${tooLong}`]) {
      const response = await alpha.request.get(`${portal.url}${path}`, { maxRedirects: 0 });
      expect(response.status(), path).toBe(404);
      expect(await response.text(), path).toMatch(/Not found/);
    }
  });

  it("a rotation form pointed at B's login answers not found and leaves B's secret alone", async () => {
    const page = await alpha.newPage();
    page.on("dialog", (d) => void d.accept());
    await page.goto(`${portal.url}/my/logins/${ids.aLogin}`);
    const form = page.getByRole("form", { name: "Rotate the secret" });
    await form.locator('input[name="id"]').evaluate((input, id) => ((input as HTMLInputElement).value = id), ids.bLogin);
    await form.getByLabel("Keep the old secret working for (hours)").fill("0");
    await form.getByRole("button", { name: "Issue a new secret" }).click();
    await form.getByRole("alert").filter({ hasText: "Not found." }).waitFor();
    expect(await form.getByTestId("secret-value").count()).toBe(0);
    await screenshot(page, "customer-tampered-form");
    const secrets = await getDb().odmrSecret.findMany({ where: { loginId: ids.bLogin } });
    expect(secrets).toHaveLength(1);
    expect(secrets[0].expiresAt).toBeNull();
    const challenge = "<1.2@test>";
    expect((await verifyOdmrCramMd5("beta", challenge, cramMd5Digest(ids.bSecret, challenge))).ok).toBe(true);
  });

  it("a staff action replayed with the customer's session is refused; the same post as staff works", async () => {
    const staff = await logIn(staffContext, portal.url, "ops@isp.example");
    staff.on("dialog", (d) => void d.accept());
    await staff.goto(`${portal.url}/staff/customers/${ids.b}`);
    // capture the browser's server-action post for "Suspend Beta" without letting it through
    const url = `${portal.url}/staff/customers/${ids.b}`;
    const captured = await captureServerAction(staff, url, () => staff.getByRole("button", { name: "Suspend" }).click());
    const replay = (context: BrowserContext) => replayServerAction(context, url, captured);

    const asAlpha = await (await replay(alpha)).text();
    expect(asAlpha).toContain("Not found.");
    expect((await getDb().customer.findUniqueOrThrow({ where: { id: ids.b } })).status).toBe("active");

    const asStaff = await (await replay(staffContext)).text();
    expect(asStaff).toContain("Suspended");
    expect((await getDb().customer.findUniqueOrThrow({ where: { id: ids.b } })).status).toBe("suspended");
  });
});
