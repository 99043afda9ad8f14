// Customer A, signed in to the portal, tries customer B's ids in every URL it can build and in
// server-action posts it can craft; it gets "not found" every time and B's objects do not change.
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { cramMd5Digest } from "../../lib/auth/cram-md5.ts";
import { getDb } from "../../lib/db/client.ts";
import { verifyOdmrCramMd5 } from "../../lib/logins/verify-odmr-login.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { captureServerAction, launchChromium, logIn, replayServerAction, screenshot } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { domainId, holdMessage, makeCustomer } from "../helpers/fixtures.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const PASSWORD = "a-long-password-1";

describe("portal: one customer cannot reach another's objects", () => {
  let portal: Portal;
  let browser: Browser;
  let alpha: BrowserContext;
  let staffContext: BrowserContext;
  const ids = { a: "", b: "", aDomain: "", bDomain: "", aLogin: "", bLogin: "", aMessage: "", bMessage: "", bSecret: "" };

  beforeAll(async () => {
    const a = await makeCustomer("Alpha", ["alpha.example"]);
    const b = await makeCustomer("Beta", [{ name: "beta.example", recipients: ["secret-person@beta.example"] }]);
    const raw = (subject: string) => Buffer.from(`From: x@sender.example\r\nSubject: ${subject}\r\n\r\nbody\r\n`);
    const aMessage = await holdMessage([{ address: "u@alpha.example", customer: a }], raw("For Alpha"), "x@sender.example", { subject: "For Alpha" });
    const bMessage = await holdMessage([{ address: "secret-person@beta.example", customer: b }], raw("Beta confidential"), "y@sender.example", {
      subject: "Beta confidential",
    });
    await getDb().odmrSession.createMany({
      data: [
        {
          loginId: a.loginId,
          customerId: a.id,
          loginName: "alpha",
          remoteAddress: "198.51.100.7",
          domainsRequested: ["alpha.example"],
          reply: "453 You have no mail",
          endedAt: new Date(),
        },
        {
          loginId: b.loginId,
          customerId: b.id,
          loginName: "beta",
          remoteAddress: "203.0.113.99",
          domainsRequested: ["beta.example"],
          reply: "250 OK now reversing the connection",
          endedAt: new Date(),
        },
      ],
    });
    await createPortalUser(CLI_ACTOR, { email: "admin@alpha.example", role: "customer", customer: a.id, password: PASSWORD });
    await createPortalUser(CLI_ACTOR, { email: "ops@isp.example", role: "staff", password: PASSWORD });
    Object.assign(ids, {
      a: a.id,
      b: b.id,
      aDomain: domainId(a, "alpha.example"),
      bDomain: domainId(b, "beta.example"),
      aLogin: a.loginId,
      bLogin: b.loginId,
      aMessage,
      bMessage,
      bSecret: b.secret,
    });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir });
    browser = await launchChromium();
    alpha = await browser.newContext();
    staffContext = await browser.newContext();
    await logIn(alpha, portal.url, "admin@alpha.example", PASSWORD);
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
      `/my/mail/${ids.bMessage}`,
      `/my/mail/${ids.bMessage}/eml`,
      `/my/logins/${ids.bLogin}`,
      `/my/mail?domain=${ids.bDomain}`,
      `/my/mail?domain=beta.example`,
      `/staff`,
      `/staff/queue`,
      `/staff/customers`,
      `/staff/customers/${ids.b}`,
      `/staff/domains/${ids.bDomain}`,
      `/staff/domains/${ids.bDomain}/recipients.csv`,
      `/staff/logins/${ids.bLogin}`,
      `/staff/queue/${ids.bMessage}`,
      `/staff/queue/${ids.bMessage}/eml`,
      `/staff/sessions?customerId=${ids.b}`,
      `/staff/audit?customerId=${ids.b}`,
      `/staff/users`,
    ];
    for (const path of probes) {
      const { status, text } = await get(path);
      expect(status, path).toBe(404);
      expect(text, path).toMatch(/Not found/);
      for (const leak of ["Beta confidential", "secret-person", 'beta.example"', "203.0.113.99", ids.bSecret]) expect(text, path).not.toContain(leak);
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
      `/my/mail/${ids.aMessage}`,
      `/my/mail/${ids.aMessage}/eml`,
      "/my/mail/export.csv?q=Alpha",
      `/staff/queue/${ids.bMessage}`,
      `/staff/queue/${ids.bMessage}/eml`,
      "/staff/queue/export.csv",
      `/staff/domains/${ids.bDomain}/recipients.csv`,
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
    const staff = await logIn(staffContext, portal.url, "ops@isp.example", PASSWORD);
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
