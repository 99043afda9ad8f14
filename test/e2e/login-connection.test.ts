// In Chromium: the staff list of ODMR logins, "How to connect" (MX records, ports, mechanisms,
// fetchmail plain and ssl, Exim -atrn) and "Test my connection" (session transcripts) on the
// login pages of staff and customer, and that another customer gets "not found" for all of it.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb, type Prisma } from "../../lib/db/client.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { SECRET_PLACEHOLDER } from "../../lib/logins/fetchmail-rc.ts";
import { createLogin, setLoginStatus } from "../../lib/logins/logins.ts";
import { Transcript } from "../../lib/sessions/session-transcript.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { launchChromium, logIn, screenshot } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const PASSWORD = "a-long-password-1";
const HOST = "odmr.isp.example";

function transcript(steps: [Parameters<Transcript["add"]>[0], string][], authenticated: boolean): Prisma.InputJsonValue {
  const t = new Transcript(Date.now() - 5000);
  for (const [step, text] of steps) {
    if (step === "atrn" && authenticated) t.markAuthenticated();
    t.add(step, text);
  }
  return t.toJSON() as unknown as Prisma.InputJsonValue;
}

describe("portal: ODMR logins, how to connect, and the connection test", () => {
  let portal: Portal;
  let browser: Browser;
  let staff: Page;
  let alphaUser: Page;
  let betaUser: Page;
  const ids = { alpha: "", beta: "", alphaLogin: "", betaLogin: "", spareLogin: "" };

  beforeAll(async () => {
    const alpha = await createCustomer(CLI_ACTOR, { name: "Alpha" });
    const beta = await createCustomer(CLI_ACTOR, { name: "Beta" });
    await createDomain(CLI_ACTOR, { customer: alpha.id, name: "alpha.example", recipientPolicy: "accept_all" });
    await createDomain(CLI_ACTOR, { customer: alpha.id, name: "alpha-two.example", recipientPolicy: "accept_all" });
    const alphaLogin = await createLogin(CLI_ACTOR, { customer: alpha.id, login: "alpha-mx" });
    const spare = await createLogin(CLI_ACTOR, { customer: alpha.id, login: "alpha-spare" });
    await setLoginStatus(CLI_ACTOR, spare.login.id, "disabled");
    // Beta has a login but no domain yet
    const betaLogin = await createLogin(CLI_ACTOR, { customer: beta.id, login: "beta-mx" });
    const started = new Date(Date.now() - 60_000);
    await getDb().odmrSession.createMany({
      data: [
        {
          loginId: alphaLogin.login.id,
          customerId: alpha.id,
          loginName: "alpha-mx",
          remoteAddress: "198.51.100.7",
          authenticated: true,
          domainsRequested: ["alpha.example"],
          reply: "250 OK now reversing the connection",
          messagesDelivered: 1,
          startedAt: started,
          endedAt: new Date(started.getTime() + 3000),
          outcome: "completed; 1 messages delivered",
          transcript: transcript(
            [
              ["connect", "connected from 198.51.100.7"],
              ["auth", 'AUTH CRAM-MD5 as "alpha-mx": 235 Authentication successful'],
              ["atrn", "ATRN for alpha.example: 250 OK now reversing the connection"],
              ["greeting", "the customer's server greeted: 220 mail.alpha.example ESMTP"],
              ["message", "message 0ABC from <s@origin.example>: a@alpha.example → 250 2.0.0 Ok: queued as 4F2 (delivered)"],
              ["message", "message 0ABD from <s@origin.example>: nobody@alpha.example → 550 5.1.1 unknown user (bounced to the sender)"],
              ["end", "completed; 1 messages delivered"],
            ],
            true,
          ),
        },
        {
          loginId: alphaLogin.login.id,
          customerId: alpha.id,
          loginName: "alpha-mx",
          remoteAddress: "203.0.113.66",
          authenticated: false,
          startedAt: new Date(),
          endedAt: new Date(),
          outcome: "authentication failed",
          transcript: transcript(
            [
              ["connect", "connected from 203.0.113.66"],
              ["auth", 'AUTH CRAM-MD5 as "alpha-mx": 535 Authentication credentials invalid (wrong secret)'],
              ["end", "authentication failed"],
            ],
            false,
          ),
        },
      ],
    });
    await createPortalUser(CLI_ACTOR, { email: "admin@alpha.example", role: "customer", customer: alpha.id, password: PASSWORD });
    await createPortalUser(CLI_ACTOR, { email: "admin@beta.example", role: "customer", customer: beta.id, password: PASSWORD });
    await createPortalUser(CLI_ACTOR, { email: "ops@isp.example", role: "staff", password: PASSWORD });
    Object.assign(ids, { alpha: alpha.id, beta: beta.id, alphaLogin: alphaLogin.login.id, betaLogin: betaLogin.login.id, spareLogin: spare.login.id });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { PUBLIC_HOSTNAME: HOST, ODMR_PORT: "366", ODMRS_PORT: "1366" } });
    browser = await launchChromium();
    staff = await logIn(await browser.newContext(), portal.url, "ops@isp.example", PASSWORD);
    alphaUser = await logIn(await browser.newContext(), portal.url, "admin@alpha.example", PASSWORD);
    betaUser = await logIn(await browser.newContext(), portal.url, "admin@beta.example", PASSWORD);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it("staff list the logins with customer, domains, status and last session, and filter them", async () => {
    await staff.goto(`${portal.url}/staff`);
    await staff.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Logins" }).click();
    await staff.waitForURL(`${portal.url}/staff/logins`);
    const rows = staff.getByRole("region", { name: "ODMR logins" }).locator("tbody tr");
    await expect.poll(() => rows.count()).toBe(3);
    const alphaRow = rows.filter({ hasText: "alpha-mx" });
    const text = await alphaRow.innerText();
    expect(text).toContain("Alpha");
    expect(text).toContain("all of the customer's (2)");
    expect(text).toContain("active");
    expect(text).toContain("authentication failed"); // its newest session
    expect(await rows.filter({ hasText: "beta-mx" }).innerText()).toContain("never");
    await screenshot(staff, "staff-logins");

    await staff.getByLabel("Login name contains").fill("beta");
    await staff.getByRole("button", { name: "Filter" }).click();
    await staff.waitForURL(/q=beta/);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain("beta-mx");

    await staff.goto(`${portal.url}/staff/logins?status=disabled`);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain("alpha-spare");
    await staff.goto(`${portal.url}/staff/logins?customerId=${ids.beta}`);
    await expect.poll(() => rows.count()).toBe(1);
    await staff.goto(`${portal.url}/staff/logins?customerId=not-an-id`);
    expect(await staff.locator("main [role=alert]").innerText()).toMatch(/not a valid id/);
  });

  it("shows staff how the login connects, and its transcripts", async () => {
    await staff.goto(`${portal.url}/staff/logins/${ids.alphaLogin}`);
    const guide = staff.getByTestId("connection-guide");
    const facts = await guide.innerText();
    expect(facts).toContain(HOST);
    expect(facts).toMatch(/366: plain, STARTTLS offered; AUTH CRAM-MD5 \(and PLAIN, LOGIN after STARTTLS\)/);
    expect(facts).toMatch(/1366: TLS from the first byte; AUTH CRAM-MD5, PLAIN, LOGIN/);
    expect(facts).toMatch(/Certificate\s+not readable by the portal/);
    expect(await staff.getByTestId("mx-records").innerText()).toBe(`alpha-two.example.  IN  MX  10  ${HOST}.\nalpha.example.  IN  MX  10  ${HOST}.`);
    const plain = await staff.getByTestId("fetchmail-plain").innerText();
    expect(plain).toContain(`poll ${HOST} with protocol ODMR service 366 auth cram-md5`);
    expect(plain).toContain(`user "alpha-mx" there with password "${SECRET_PLACEHOLDER}"`);
    expect(plain).toContain("fetchdomains alpha-two.example,alpha.example");
    const ssl = await staff.getByTestId("fetchmail-ssl").innerText();
    expect(ssl).toContain(`poll ${HOST} with protocol ODMR service 1366 auth cram-md5`);
    expect(ssl).toMatch(/\n {2}ssl\n/);
    const exim = await staff.getByTestId("exim-config").innerText();
    expect(exim).toContain("local_parts = _atrn");
    expect(exim).toContain(`client_secret = "${SECRET_PLACEHOLDER}"`);
    const commands = await staff.getByTestId("exim-commands").innerText();
    expect(commands).toContain(`exim -atrn ${HOST} alpha-two.example\nexim -atrn ${HOST} alpha.example`);
    expect(commands).toContain("silently drops");
    expect(commands).toContain(`exim -odq -atrn ${HOST} alpha-two.example,alpha.example && exim -q`);

    const transcripts = staff.getByTestId("transcript");
    await expect.poll(() => transcripts.count()).toBe(2);
    // newest first: the failed AUTH, open; then the delivering session
    expect(await transcripts.nth(0).innerText()).toContain("535 Authentication credentials invalid (wrong secret)");
    await transcripts.nth(1).locator("summary").click();
    const delivered = await transcripts.nth(1).innerText();
    for (const line of [
      "235 Authentication successful",
      "ATRN for alpha.example: 250 OK now reversing the connection",
      "a@alpha.example → 250 2.0.0 Ok: queued as 4F2 (delivered)",
      "nobody@alpha.example → 550 5.1.1 unknown user (bounced to the sender)",
      "completed; 1 messages delivered",
    ]) {
      expect(delivered).toContain(line);
    }
    await screenshot(staff, "staff-login-connect");
  });

  it("says a domain must be assigned first instead of showing a configuration with a placeholder domain", async () => {
    await staff.goto(`${portal.url}/staff/logins/${ids.betaLogin}`);
    expect(await staff.getByTestId("no-domain-yet").innerText()).toMatch(/a domain must be assigned to it first/);
    expect(await staff.getByTestId("fetchmail-plain").count()).toBe(0);
    expect(await staff.getByTestId("exim-config").count()).toBe(0);
    expect(await staff.locator("body").innerText()).not.toMatch(/your\.domain\.example|fetchdomains/);
    await betaUser.goto(`${portal.url}/my/logins/${ids.betaLogin}`);
    expect(await betaUser.getByTestId("no-domain-yet").innerText()).toMatch(/a domain must be assigned to it first/);
    expect(await betaUser.locator("body").innerText()).not.toMatch(/your\.domain\.example|fetchdomains/);
    expect(await betaUser.getByTestId("transcripts").count()).toBe(0);
  });

  it("shows the customer the same guide and transcripts on its own login page", async () => {
    await alphaUser.goto(`${portal.url}/my`);
    await alphaUser.goto(`${portal.url}/my/logins/${ids.alphaLogin}`);
    expect(await alphaUser.getByTestId("fetchmail-plain").innerText()).toContain("fetchdomains alpha-two.example,alpha.example");
    expect(await alphaUser.getByTestId("fetchmail-ssl").innerText()).toMatch(/\n {2}ssl\n/);
    expect(await alphaUser.getByTestId("exim-config").innerText()).toContain("local_parts = _atrn");
    // staff's configuration hints are not for customers
    expect(await alphaUser.locator("body").innerText()).not.toMatch(/PUBLIC_HOSTNAME|TLS_CERT_FILE/);
    const transcripts = alphaUser.getByTestId("transcript");
    await expect.poll(() => transcripts.count()).toBe(2);
    expect(await transcripts.nth(0).innerText()).toContain("authentication failed");
    await transcripts.nth(1).locator("summary").click();
    expect(await transcripts.nth(1).innerText()).toContain("nobody@alpha.example → 550 5.1.1 unknown user");
    await screenshot(alphaUser, "customer-login-connect");
  });

  it("gives another customer not found for the login, its connection guide and its transcripts", async () => {
    const get = async (page: Page, path: string) => {
      const response = await page.context().request.get(`${portal.url}${path}`, { maxRedirects: 0 });
      return { status: response.status(), text: await response.text() };
    };
    const own = await get(betaUser, `/my/logins/${ids.betaLogin}`);
    expect(own.status).toBe(200);
    const other = await get(betaUser, `/my/logins/${ids.alphaLogin}`);
    expect(other.status).toBe(404);
    for (const secret of ["alpha-mx", "alpha.example", "198.51.100.7", "203.0.113.66"]) expect(other.text).not.toContain(secret);
    // and a customer never reaches the staff pages
    expect((await get(betaUser, "/staff/logins")).status).toBe(404);
    expect((await get(betaUser, `/staff/logins/${ids.alphaLogin}`)).status).toBe(404);
    const missing = await get(betaUser, "/my/logins/00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
  });
});
