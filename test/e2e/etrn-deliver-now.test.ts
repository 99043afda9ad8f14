// "Deliver now" end to end: staff press the button on a domain's page in a real browser, the
// portal records the request, the real mailer (another process) takes it and delivers the held
// mail to the domain's ETRN target, a real SMTP server; the run then shows on the page.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { launchChromium, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

const env = useTestDatabase();
const STAFF = { email: "ops@isp.example", password: "staff-password-1" };

describe("portal: deliver now", () => {
  let mailer: MailerProcess;
  let portal: Portal;
  let browser: Browser;
  let receiver: SmtpReceiver;
  let customer: TestCustomer;
  let page: Page;

  beforeAll(async () => {
    await createPortalUser(CLI_ACTOR, { email: STAFF.email, role: "staff", password: STAFF.password });
    receiver = await startSmtpReceiver();
    customer = await makeCustomer("Static", ["static.example", "atrn-only.example"]);
    await updateDomain(CLI_ACTOR, "static.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${receiver.port}` });
    mailer = await startMailer({ ETRN_REQUEST_POLL_SECONDS: "1" });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { MAIL_HOSTNAME: mailer.hostname } });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    await submitLogin(page, portal.url, STAFF.email, STAFF.password);
    await page.waitForURL((u) => u.pathname.startsWith("/staff"));
  });

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
    await mailer?.stop();
    await receiver?.close();
  });

  it("sends the held mail to the ETRN target and shows the run", async () => {
    const raw = testMessage("deliver now please");
    await holdMessage([{ address: "desk@static.example", customer }], raw);
    await page.goto(`${portal.url}/staff/domains/${customer.domains.get("static.example")}`);
    const form = page.getByRole("form", { name: "Deliver now" });
    await form.getByRole("button", { name: "Deliver now" }).click();
    await form.getByRole("status").filter({ hasText: "Delivery requested" }).waitFor();
    await receiver.waitForMessages(1);
    expect(receiver.messages[0].raw.equals(raw)).toBe(true);
    await expect
      .poll(async () => (await getDb().odmrSession.findFirst({ where: { kind: "etrn", endedAt: { not: null } } }))?.remoteAddress)
      .toBe(`staff: ${STAFF.email}`);
    await page.reload();
    const runs = page.getByRole("region", { name: "Sessions" });
    await runs.getByText("released").first().waitFor();
    await runs.getByText(`staff: ${STAFF.email}`).first().waitFor();
    await screenshot(page, "etrn-deliver-now");
    // the session list shows ETRN runs on their own
    await page.goto(`${portal.url}/staff/sessions?kind=etrn`);
    await page.getByRole("region", { name: "Sessions" }).getByText(`staff: ${STAFF.email}`).waitFor();
    await page.goto(`${portal.url}/staff/sessions?kind=atrn`);
    await page.getByText("No sessions yet.").waitFor();
  });

  it("lets the customer deliver its own domain now, and offers nothing for a domain without ETRN", async () => {
    const raw = testMessage("customer asked for it");
    await holdMessage([{ address: "desk@static.example", customer }], raw);
    await createPortalUser(CLI_ACTOR, { email: "admin@static.example", role: "customer", customer: customer.id, password: STAFF.password });
    const own = await (await browser.newContext()).newPage();
    await submitLogin(own, portal.url, "admin@static.example", STAFF.password);
    await own.waitForURL((u) => u.pathname.startsWith("/my"));
    expect(await own.getByRole("form", { name: "Deliver atrn-only.example now" }).count()).toBe(0);
    const form = own.getByRole("form", { name: "Deliver static.example now" });
    await form.getByRole("button", { name: "Deliver now" }).click();
    await form.getByRole("status").filter({ hasText: "Delivery requested" }).waitFor();
    await expect.poll(() => receiver.messages.some((m) => m.raw.equals(raw)), { timeout: 20_000 }).toBe(true);
    await screenshot(own, "customer-deliver-now");
  });

  it("offers no button for a domain without ETRN", async () => {
    await page.goto(`${portal.url}/staff/domains/${customer.domains.get("atrn-only.example")}`);
    await page.getByText("Enable ETRN and give a target in the settings to deliver from here.").waitFor();
    expect(await page.getByRole("button", { name: "Deliver now" }).count()).toBe(0);
  });
});
