// The portal end to end, in a real browser against the real mailer: staff set up a customer, a
// login, a domain with recipients; mail sent to the MX shows up in the customer's held mail; the
// customer rotates its login and the old secret stops working once its window has passed.
import fs from "node:fs";
import path from "node:path";
import nodemailer from "nodemailer";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { cramMd5Digest } from "../../lib/auth/cram-md5.ts";
import { getDb } from "../../lib/db/client.ts";
import { verifyOdmrCramMd5 } from "../../lib/logins/verify-odmr-login.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { ARTIFACTS, choosePassword, launchChromium, logIn, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const STAFF = { email: "ops@isp.example", password: "staff-password-1" };
const CUSTOMER_PASSWORD = "harbour-lights-at-dusk";
const CHALLENGE = "<1896.697170952@postoffice.reston.mci.net>";

async function cramWorks(login: string, secret: string): Promise<boolean> {
  return (await verifyOdmrCramMd5(login, CHALLENGE, cramMd5Digest(secret, CHALLENGE))).ok;
}

describe("portal: staff set-up, held mail, customer rotation", () => {
  let mailer: MailerProcess;
  let portal: Portal;
  let browser: Browser;
  let staffContext: BrowserContext;
  let customerContext: BrowserContext;
  let staff: Page;
  let customer: Page;
  let customerPassword = "";
  let oldSecret = "";

  beforeAll(async () => {
    await createPortalUser(CLI_ACTOR, { email: STAFF.email, role: "staff", password: STAFF.password });
    mailer = await startMailer({ MX_LOOKUP_CACHE_SECONDS: "0" });
    portal = await startPortal({
      databaseUrl: env.url,
      dataDir: env.dataDir,
      extra: { MAIL_HOSTNAME: mailer.hostname, ODMR_PORT: String(mailer.odmrPort) },
    });
    browser = await launchChromium();
    staffContext = await browser.newContext({ acceptDownloads: true });
    customerContext = await browser.newContext({ acceptDownloads: true, viewport: { width: 390, height: 844 } });
    // deletions and suspensions ask first
    staffContext.on("page", (p) => p.on("dialog", (d) => void d.accept()));
  });

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
    await mailer?.stop();
  });

  it("refuses a wrong password with a clear message", async () => {
    const page = await staffContext.newPage();
    await submitLogin(page, portal.url, STAFF.email, "not-the-password");
    await page.getByRole("form", { name: "Log in" }).getByRole("alert").filter({ hasText: "Wrong e-mail address or password." }).waitFor();
    await screenshot(page, "login");
    await page.close();
  });

  it("staff create a customer, a login, a domain with recipients and a customer user", async () => {
    staff = await logIn(staffContext, portal.url, STAFF.email, STAFF.password);
    expect(new URL(staff.url()).pathname).toBe("/staff");

    await staff.goto(`${portal.url}/staff/customers`);
    const newCustomer = staff.getByRole("form", { name: "New customer" });
    await newCustomer.getByLabel("Name").fill("Acme Ltd");
    await newCustomer.getByLabel("Contact e-mail").fill("postmaster@acme.example");
    await newCustomer.getByRole("button", { name: "Create customer" }).click();
    await staff.waitForURL(/\/staff\/customers\/[0-9a-f-]{36}$/);
    await staff.getByRole("heading", { name: "Acme Ltd" }).waitFor();

    const newLogin = staff.getByRole("form", { name: "New login" });
    await newLogin.getByLabel("Login name").fill("acme");
    await newLogin.getByRole("button", { name: "Create login" }).click();
    oldSecret = (await staff.getByTestId("secret-value").textContent()) ?? "";
    expect(oldSecret).toMatch(/^[A-Za-z0-9]{24}$/);
    // no domain yet: no configuration with a made-up domain, but a note that one must be assigned
    await expect.poll(() => staff.getByTestId("secret-reveal").textContent()).toContain("a domain must be assigned to it first");
    expect(await staff.getByTestId("rc-snippet").count()).toBe(0);
    expect(await cramWorks("acme", oldSecret)).toBe(true);

    const newUser = staff.getByRole("form", { name: "New customer user" });
    await newUser.getByLabel("E-mail").fill("admin@acme.example");
    await newUser.getByRole("button", { name: "Create user" }).click();
    customerPassword = (await newUser.getByTestId("secret-value").textContent()) ?? "";
    expect(customerPassword.length).toBeGreaterThanOrEqual(16);

    const addDomain = staff.getByRole("form", { name: "Add a domain" });
    await addDomain.getByLabel("Domain name").fill("Acme.Example");
    await addDomain.getByLabel("Recipients to list").fill("alice\nbob@acme.example");
    await addDomain.getByRole("button", { name: "Add domain" }).click();
    await staff.waitForURL(/\/staff\/domains\/[0-9a-f-]{36}$/);
    await staff.getByRole("heading", { name: "acme.example" }).waitFor();

    const add = staff.getByRole("form", { name: "Add recipients" });
    await add.getByLabel("Addresses").fill("address\ncarol@acme.example,Carol\nnot an address\nmallory@elsewhere.example\nalice@acme.example");
    await add.getByRole("button", { name: "Add recipients" }).click();
    const report = staff.getByTestId("import-report");
    await report.waitFor();
    expect(await report.textContent()).toContain("1 added, 1 already listed, 2 rejected");
    expect(await report.textContent()).toContain("not in acme.example");
    const listed = await getDb().recipient.findMany({ where: { domain: { name: "acme.example" } }, orderBy: { address: "asc" } });
    expect(listed.map((r) => r.address)).toEqual(["alice@acme.example", "bob@acme.example", "carol@acme.example"]);

    // the settings form keeps the ATRN/ETRN fields; a bad ETRN target is refused with a message
    const settings = staff.getByRole("form", { name: "Domain settings" });
    await settings.getByLabel("Retention (days)").fill("10");
    await settings.getByLabel("ETRN enabled").check();
    await settings.getByRole("button", { name: "Save settings" }).click();
    expect(await settings.getByRole("alert").textContent()).toContain("ETRN needs a delivery target");
    await settings.getByLabel("ETRN target (host:port)").fill("mail.acme.example:25");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await settings.getByRole("status").waitFor();
    const domain = await getDb().domain.findUniqueOrThrow({ where: { name: "acme.example" } });
    expect(domain).toMatchObject({ retentionDays: 10, etrnEnabled: true, etrnTarget: "mail.acme.example:25", atrnEnabled: true });

    const csv = await staff.request.get(`${portal.url}/staff/domains/${domain.id}/recipients.csv`);
    expect(await csv.text()).toBe("address\r\nalice@acme.example\r\nbob@acme.example\r\ncarol@acme.example\r\n");
    await screenshot(staff, "staff-domain");
  });

  it("mail sent to the MX shows up in the customer's held mail, escaped", async () => {
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port: mailer.mxPort, secure: false, ignoreTLS: true });
    const subject = `Quarterly <b>report</b> & <script>document.title="pwned"</script>`;
    await transport.sendMail({
      from: "Sender <sender@outside.example>",
      to: "alice@acme.example",
      subject,
      html: "<p onclick=alert(1)>HTML body that must never be rendered</p>",
    });
    transport.close();

    // the password staff were shown is one-time: the customer chooses their own first
    const first = await customerContext.newPage();
    await submitLogin(first, portal.url, "admin@acme.example", customerPassword);
    await first.waitForURL((u) => u.pathname === "/setup/password");
    await choosePassword(first, customerPassword, CUSTOMER_PASSWORD);
    await first.getByText("Your password has been changed.").waitFor();
    await first.close();
    customer = await logIn(customerContext, portal.url, "admin@acme.example", CUSTOMER_PASSWORD);
    expect(new URL(customer.url()).pathname).toBe("/my");
    await customer.goto(`${portal.url}/my/mail`);
    await customer.getByText(subject).waitFor();
    expect(await customer.getByTestId("queue-count").textContent()).toBe("1 message");
    expect(await customer.locator("table b").count()).toBe(0);
    expect(await customer.title()).not.toBe("pwned");
    await screenshot(customer, "customer-held-mail");

    await customer.getByRole("link", { name: /^[0-9A-Z]{16}$/ }).click();
    await customer.getByTestId("raw-headers").waitFor();
    const headers = (await customer.getByTestId("raw-headers").textContent()) ?? "";
    expect(headers).toContain("Subject: =?UTF-8?Q?Quarterly");
    expect(headers).toContain("Message-ID: <");
    expect(await customer.getByText("HTML body that must never be rendered").count()).toBe(0);
    await screenshot(customer, "customer-message");

    const [download] = await Promise.all([customer.waitForEvent("download"), customer.getByRole("link", { name: "Download .eml" }).click()]);
    const file = path.join(ARTIFACTS, "downloaded.eml");
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await download.saveAs(file);
    expect(fs.readFileSync(file, "utf8")).toContain("HTML body that must never be rendered");
  });

  it("the customer rotates its login; the old secret works during the window and not after it", async () => {
    await customer.goto(`${portal.url}/my`);
    await customer.getByRole("link", { name: "acme", exact: true }).click();
    await customer.waitForURL(/\/my\/logins\//);
    customer.once("dialog", (d) => void d.accept());
    await customer.getByLabel("Keep the old secret working for (hours)").fill("2");
    await customer.getByRole("button", { name: "Issue a new secret" }).click();
    const newSecret = (await customer.getByTestId("secret-value").textContent()) ?? "";
    expect(newSecret).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(newSecret).not.toBe(oldSecret);
    const rc = (await customer.getByTestId("rc-snippet").textContent()) ?? "";
    expect(rc).toContain("fetchdomains acme.example");
    expect(rc).toContain(`poll ${mailer.hostname} with protocol ODMR service ${mailer.odmrPort} auth cram-md5`);
    expect(rc).toContain(`user "acme" there with password "${newSecret}"`);
    await screenshot(customer, "customer-rotate");

    expect(await cramWorks("acme", oldSecret)).toBe(true);
    expect(await cramWorks("acme", newSecret)).toBe(true);
    // let the two hours pass
    await getDb().odmrSecret.updateMany({ where: { login: { login: "acme" }, expiresAt: { not: null } }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await cramWorks("acme", oldSecret)).toBe(false);
    expect(await cramWorks("acme", newSecret)).toBe(true);
  });

  it("staff see the message in the queue, the change in the audit log, and can bounce it", async () => {
    await staff.goto(`${portal.url}/staff`);
    await staff.getByRole("heading", { name: "Dashboard" }).waitFor();
    expect(await staff.getByText("Held messages").locator("..").textContent()).toContain("1");
    await screenshot(staff, "staff-dashboard");

    await staff.goto(`${portal.url}/staff/queue?q=quarterly`);
    expect(await staff.getByTestId("queue-count").textContent()).toBe("1 message");
    await screenshot(staff, "staff-queue");
    await staff.goto(`${portal.url}/staff/queue?sender=nobody-like-this`);
    expect(await staff.getByTestId("queue-count").textContent()).toBe("0 messages");

    await staff.goto(`${portal.url}/staff/audit?action=login`);
    const audit = (await staff.locator("table").textContent()) ?? "";
    expect(audit).toContain("login.rotate");
    expect(audit).toContain("admin@acme.example");
    await screenshot(staff, "staff-audit");

    await staff.goto(`${portal.url}/staff/queue`);
    await staff.getByRole("link", { name: /^[0-9A-Z]{16}$/ }).click();
    await staff.getByRole("button", { name: "Bounce now" }).click();
    await staff.getByText("1 held recipient bounced.").waitFor();
    await screenshot(staff, "staff-message");
    const delivery = await getDb().delivery.findFirstOrThrow({ where: { recipient: "alice@acme.example" } });
    expect(delivery.state).toBe("bounced");
    const dsn = await getDb().dsn.findFirstOrThrow({ where: { messageId: delivery.messageId } });
    expect(dsn.rcptTo).toBe("sender@outside.example");
  });
});
