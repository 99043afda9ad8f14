// Fixes from walking through the portal as a new ISP would, each checked in a real browser against
// the real portal (and, for ETRN, the real mailer): recipient imports, adding a domain with a bad
// recipient line, the truthful ETRN run, the dashboard's hydration, action messages and notices,
// "Bounce now" with nothing held, a suspended customer's domains, empty fields, the Users form
// and the favicon.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { launchChromium, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { freePort } from "../helpers/free-port.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const STAFF = { email: "ops@isp.example", password: "staff-password-1" };
const CUSTOMER = { email: "admin@acme.example", password: "customer-password-1" };

describe("portal fixes", () => {
  let mailer: MailerProcess;
  let portal: Portal;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let acme: TestCustomer;
  /** console errors and uncaught exceptions of the staff page */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await createPortalUser(CLI_ACTOR, { email: STAFF.email, role: "staff", password: STAFF.password });
    acme = await makeCustomer("Acme", ["acme.example", "down.example"]);
    await createPortalUser(CLI_ACTOR, { email: CUSTOMER.email, role: "customer", customer: acme.id, password: CUSTOMER.password });
    await getDb().domain.update({ where: { name: "acme.example" }, data: { recipientPolicy: "listed" } });
    // an ETRN target nothing listens on: the run cannot connect
    await updateDomain(CLI_ACTOR, "down.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${await freePort()}` });
    await getDb().odmrSession.createMany({
      data: [
        {
          customerId: acme.id,
          loginName: acme.login,
          remoteAddress: "198.51.100.7",
          domainsRequested: ["acme.example"],
          reply: "250 OK now reversing the connection",
          messagesDelivered: 2,
          endedAt: new Date(),
        },
        {
          customerId: acme.id,
          loginName: acme.login,
          remoteAddress: "198.51.100.7",
          domainsRequested: ["acme.example"],
          reply: "530 5.7.0 Authentication required",
          endedAt: new Date(),
        },
      ],
    });
    mailer = await startMailer({ ETRN_REQUEST_POLL_SECONDS: "1" });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { MAIL_HOSTNAME: mailer.hostname } });
    browser = await launchChromium();
    context = await browser.newContext();
    context.on("page", (p) => p.on("dialog", (d) => void d.accept()));
    page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await submitLogin(page, portal.url, STAFF.email, STAFF.password);
    await page.waitForURL((u) => u.pathname === "/staff");
  });

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
    await mailer?.stop();
  });

  it("loads the dashboard without a hydration error (the chart's SVG title is the same on both sides)", async () => {
    pageErrors.length = 0;
    await page.goto(`${portal.url}/staff`);
    await page.getByRole("img", { name: "ODMR sessions per day: successful and refused" }).waitFor();
    // hydration runs after load; give React a moment to report
    await page.waitForLoadState("networkidle");
    expect(pageErrors.filter((e) => /418|hydrat/i.test(e))).toEqual([]);
    expect(await page.locator("svg > title").first().textContent()).toBe("ODMR sessions per day: successful and refused");
  });

  it("imports an uploaded CSV with a header row and name-addr lines, empties the box, and shows a partial failure in amber", async () => {
    await page.goto(`${portal.url}/staff/domains/${acme.domains.get("acme.example")}`);
    const add = page.getByRole("form", { name: "Add recipients" });
    await add.getByLabel("Addresses").fill("pasted@acme.example");
    await add.getByRole("button", { name: "Add recipients" }).click();
    await add.getByRole("status").filter({ hasText: "Recipients added." }).waitFor();
    // the pasted text is gone, so the upload below is not mixed with it
    expect(await add.getByLabel("Addresses").inputValue()).toBe("");
    const csv =
      'address,name,notes\r\nalice@acme.example,Alice,first\r\nBob Example <bob@acme.example>\r\n<carol@acme.example>\r\n"Smith, Dave" <dave@acme.example>\r\nnot an address,x,\r\n';
    await add.locator("input[type=file]").setInputFiles({ name: "recipients.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await add.getByRole("button", { name: "Add recipients" }).click();
    const report = add.getByTestId("import-report");
    await report.filter({ hasText: "4 added, 0 already listed, 1 rejected." }).waitFor();
    expect(await report.textContent()).toContain("file line 6");
    const message = add.getByText("Some lines were not added; see below.");
    expect(await message.getAttribute("class")).toContain("bg-amber-50");
    expect(await message.getAttribute("class")).not.toContain("emerald");
    const listed = await getDb().recipient.findMany({ where: { domain: { name: "acme.example" } }, orderBy: { address: "asc" } });
    expect(listed.map((r) => r.address)).toEqual(["alice@acme.example", "bob@acme.example", "carol@acme.example", "dave@acme.example", "pasted@acme.example"]);
    const exported = await (await page.request.get(`${portal.url}/staff/domains/${acme.domains.get("acme.example")}/recipients.csv`)).text();
    expect(exported).not.toContain("address@acme.example");
    await screenshot(page, "fix-recipient-import");
  });

  it("refuses a new domain with a bad recipient line, says it was not created, and keeps what was typed", async () => {
    await page.goto(`${portal.url}/staff/customers/${acme.id}`);
    const form = page.getByRole("form", { name: "Add a domain" });
    await form.getByLabel("Domain name").fill("new.example");
    await form.getByLabel("Recipients to list").fill("one@new.example\n\nnot valid here\ntwo@new.example");
    await form.getByRole("button", { name: "Add domain" }).click();
    const alert = form.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^The domain was not created: 1 recipient line is not valid \(line 3 "not valid here": not a valid address\)/);
    expect(await form.getByTestId("import-report").textContent()).toContain("line 3: not valid here — not a valid address");
    expect(await form.getByLabel("Recipients to list").inputValue()).toBe("one@new.example\n\nnot valid here\ntwo@new.example");
    expect(await getDb().domain.findUnique({ where: { name: "new.example" } })).toBeNull();
    await screenshot(page, "fix-domain-refused");
  });

  it("shows an ETRN run that could not connect as failed, with the reason, not as released", async () => {
    await holdMessage([{ address: "desk@down.example", customer: acme }], testMessage("waiting"));
    await page.goto(`${portal.url}/staff/domains/${acme.domains.get("down.example")}`);
    await page.getByRole("form", { name: "Deliver now" }).getByRole("button", { name: "Deliver now" }).click();
    await page.getByRole("form", { name: "Deliver now" }).getByRole("status").filter({ hasText: "Delivery requested" }).waitFor();
    await expect
      .poll(async () => (await getDb().odmrSession.findFirst({ where: { kind: "etrn", endedAt: { not: null } } }))?.releaseFailed, { timeout: 20_000 })
      .toBe(true);
    await page.reload();
    const runs = page.getByRole("region", { name: "Sessions" });
    const row = runs.locator("tbody tr").first();
    expect(await row.getByText("failed", { exact: true }).count()).toBe(1);
    expect(await row.getByText("released", { exact: true }).count()).toBe(0);
    expect(await row.textContent()).toMatch(/not delivered: could not connect to 127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(await row.textContent()).toContain("nothing");
    await screenshot(page, "fix-etrn-failed");
    // the session list's filter finds it under "failed"
    await page.goto(`${portal.url}/staff/sessions?result=failed`);
    expect(await page.getByRole("region", { name: "Sessions" }).locator("tbody tr").count()).toBe(1);
  });

  it("keeps the header buttons in one row with the message below, and drops a stale error when something else is done", async () => {
    await page.goto(`${portal.url}/staff/customers/${acme.id}`);
    // Delete is refused: mail is held
    await page.getByRole("button", { name: "Delete" }).click();
    const error = page.getByRole("alert").filter({ hasText: "still has" });
    await error.waitFor();
    const suspend = await page.getByRole("button", { name: "Suspend" }).boundingBox();
    const del = await page.getByRole("button", { name: "Delete" }).boundingBox();
    const box = await error.boundingBox();
    expect(Math.abs(suspend!.y - del!.y)).toBeLessThan(2);
    expect(box!.y).toBeGreaterThanOrEqual(del!.y + del!.height);
    await screenshot(page, "fix-header-message");
    // another action on the page: the old error goes
    const details = page.getByRole("form", { name: "Customer details" });
    await details.getByRole("button", { name: "Save" }).click();
    await details.getByRole("status").waitFor();
    expect(await error.count()).toBe(0);
  });

  it("suspending shows the customer's domains as deferred, to staff and to the customer", async () => {
    await page.goto(`${portal.url}/staff/customers/${acme.id}`);
    await page.getByRole("button", { name: "Suspend" }).click();
    await page.getByRole("button", { name: "Resume" }).waitFor();
    const domains = page.getByRole("region", { name: "Domains" });
    expect(await domains.getByText("deferred: customer suspended").count()).toBe(2);
    expect(await domains.getByText("accepting").count()).toBe(0);
    await page.goto(`${portal.url}/staff/domains`);
    expect(await page.getByText("deferred: customer suspended").count()).toBe(2);
    const own = await (await browser.newContext()).newPage();
    await submitLogin(own, portal.url, CUSTOMER.email, CUSTOMER.password);
    await own.waitForURL((u) => u.pathname === "/my");
    expect(await own.getByText("deferred: customer suspended").count()).toBe(2);
    await screenshot(own, "fix-customer-suspended");
    await own.context().close();
    await page.goto(`${portal.url}/staff/customers/${acme.id}`);
    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByRole("button", { name: "Suspend" }).waitFor();
  });

  it("says what happened after a create or a delete redirect, once", async () => {
    await page.goto(`${portal.url}/staff/customers`);
    const form = page.getByRole("form", { name: "New customer" });
    await form.getByLabel("Name").fill("Short Lived");
    await form.getByRole("button", { name: "Create customer" }).click();
    await page.waitForURL(/\/staff\/customers\/[0-9a-f-]{36}$/);
    await page.getByTestId("flash-notice").filter({ hasText: "Customer Short Lived created." }).waitFor();
    await page.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL((u) => u.pathname === "/staff/customers");
    await page.getByTestId("flash-notice").filter({ hasText: "Customer Short Lived deleted." }).waitFor();
    await screenshot(page, "fix-delete-notice");
    await page.reload();
    await page.getByRole("heading", { name: "Customers" }).waitFor();
    expect(await page.getByTestId("flash-notice").count()).toBe(0);
  });

  it("disables Bounce now when no recipient is held", async () => {
    const held = await holdMessage([{ address: "x@acme.example", customer: acme }], testMessage("held one"));
    const done = await holdMessage([{ address: "y@acme.example", customer: acme }], testMessage("delivered one"));
    await getDb().delivery.updateMany({ where: { messageId: done }, data: { state: "delivered", deliveredAt: new Date() } });
    await page.goto(`${portal.url}/staff/queue/${done}`);
    expect(await page.getByRole("button", { name: "Bounce now" }).isDisabled()).toBe(true);
    await page.goto(`${portal.url}/staff/queue/${held}`);
    expect(await page.getByRole("button", { name: "Bounce now" }).isEnabled()).toBe(true);
  });

  it("answers an empty field in words, and the Users form neither defaults to a role nor fails its first submit", async () => {
    await page.goto(`${portal.url}/staff/customers`);
    const form = page.getByRole("form", { name: "New customer" });
    // as if the browser's own check were not there
    await form.getByLabel("Name").evaluate((input) => input.removeAttribute("required"));
    await form.getByRole("button", { name: "Create customer" }).click();
    const alert = form.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toBe("This field is required.");
    expect(await form.getByLabel("Name").getAttribute("aria-invalid")).toBe("true");

    await page.goto(`${portal.url}/staff/users`);
    const users = page.getByRole("form", { name: "New user" });
    expect(await users.getByLabel("Role").inputValue()).toBe("");
    await users.getByLabel("E-mail").fill("helper@acme.example");
    await users.getByLabel("Role").selectOption("customer");
    await users.getByRole("button", { name: "Create user" }).click();
    expect(await users.getByRole("alert").textContent()).toBe("Choose the customer this user administers.");
    await users.getByLabel("Customer").selectOption({ label: "Acme" });
    await users.getByRole("button", { name: "Create user" }).click();
    await users.getByTestId("secret-value").waitFor();
    expect((await getDb().portalUser.findUniqueOrThrow({ where: { email: "helper@acme.example" } })).customerId).toBe(acme.id);
    await screenshot(page, "fix-users-form");
  });

  it("serves /favicon.ico", async () => {
    const response = await fetch(`${portal.url}/favicon.ico`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/image\/(x-icon|vnd\.microsoft\.icon)/);
    expect(Buffer.from(await response.arrayBuffer()).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
  });
});
