// DSNs that can be seen, in a real browser: without SMARTHOST a bounce says the sender will not be
// told and its DSN is held on the staff's DSN pages with its text; with SMARTHOST, "send now" hands
// it to a real SMTP receiver; a customer gets 404 on those pages. Also the recipient-delimiter
// setting on the staff's domain page, and the list entry an extended recipient matched, as staff
// and as the customer see it.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { getDomain, updateDomain } from "../../lib/domains/domains.ts";
import { addRecipients } from "../../lib/recipients/recipients.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { launchChromium, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

const env = useTestDatabase();
const STAFF = { email: "ops@isp.example", password: "staff-password-1" };
const CUSTOMER = { email: "admin@dsn.example", password: "customer-password-1" };

describe("portal: DSN pages and the recipient delimiter", () => {
  let plain: Portal;
  let relaying: Portal;
  let receiver: SmtpReceiver;
  let browser: Browser;
  let customer: TestCustomer;
  const contexts: BrowserContext[] = [];

  async function signedIn(portal: Portal, who: { email: string; password: string }, landing: string): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.on("dialog", (d) => void d.accept());
    await submitLogin(page, portal.url, who.email, who.password);
    await page.waitForURL((u) => u.pathname.startsWith(landing));
    return page;
  }

  beforeAll(async () => {
    await createPortalUser(CLI_ACTOR, { email: STAFF.email, role: "staff", password: STAFF.password });
    customer = await makeCustomer("Dsn Customer", ["dsn.example"]);
    await createPortalUser(CLI_ACTOR, { email: CUSTOMER.email, role: "customer", customer: customer.id, password: CUSTOMER.password });
    receiver = await startSmtpReceiver({}, { name: "smarthost.test.example" });
    // the same database seen by a portal without a smarthost and by one with it
    plain = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir });
    relaying = await startPortal({
      databaseUrl: env.url,
      dataDir: env.dataDir,
      extra: { SMARTHOST: `127.0.0.1:${receiver.port}`, MAIL_HOSTNAME: "mx.test.example" },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await plain?.stop();
    await relaying?.stop();
    await receiver?.close();
  });

  async function bounceFromQueuePage(page: Page, portal: Portal, subject: string): Promise<string> {
    const id = await holdMessage([{ address: "desk@dsn.example", customer }], testMessage(subject), "writer@origin.example");
    await page.goto(`${portal.url}/staff/queue/${id}`);
    await page.getByRole("button", { name: "Bounce now" }).click();
    await page.getByRole("status").filter({ hasText: "1 held recipient bounced." }).waitFor();
    return id;
  }

  it("without SMARTHOST: warns beside Bounce now, and shows the held DSN with its text", async () => {
    const page = await signedIn(plain, STAFF, "/staff");
    const id = await bounceFromQueuePage(page, plain, "nobody will hear of it");
    await page.getByRole("note").filter({ hasText: "the sender will not be told" }).waitFor();

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "DSNs" }).click();
    await page.waitForURL((u) => u.pathname === "/staff/dsns");
    await page.getByRole("note").filter({ hasText: "No SMARTHOST is configured" }).waitFor();
    const table = page.getByRole("region", { name: "DSNs" });
    const row = table.getByRole("row").filter({ hasText: "writer@origin.example" });
    await row.getByText("held", { exact: true }).waitFor();
    await row.getByRole("link", { name: id }).waitFor();
    await screenshot(page, "staff-dsn-list");

    await page.getByRole("link", { name: "Held (1)" }).click();
    await page.waitForURL((u) => u.searchParams.get("status") === "held");
    await table.getByRole("row").filter({ hasText: "writer@origin.example" }).getByRole("link").first().click();
    await page.waitForURL((u) => /^\/staff\/dsns\/[0-9a-f-]{36}$/.test(u.pathname));
    const text = await page.getByTestId("dsn-text").textContent();
    expect(text).toContain("Content-Type: multipart/report");
    expect(text).toContain("Final-Recipient: rfc822; desk@dsn.example");
    expect(text).toContain("Subject: nobody will hear of it");
    // nowhere to send it from here
    expect(await page.getByRole("button", { name: "Send now" }).count()).toBe(0);
    await page.getByText("No SMARTHOST is configured: set one to send this DSN.").waitFor();
    await screenshot(page, "staff-dsn-held");
  });

  it("with SMARTHOST: no warning, and send now delivers the DSN to the smarthost", async () => {
    const page = await signedIn(relaying, STAFF, "/staff");
    const id = await bounceFromQueuePage(page, relaying, "tell the writer");
    expect(await page.getByRole("note").filter({ hasText: "the sender will not be told" }).count()).toBe(0);
    // this portal has a SMARTHOST, so this DSN waits for a mailer's housekeeping run (none runs here)
    expect((await getDb().dsn.findFirstOrThrow({ where: { messageId: id } })).state).toBe("pending");
    // the one held while there was no SMARTHOST goes out with the button
    const dsn = await getDb().dsn.findFirstOrThrow({ where: { state: "held" }, select: { id: true, raw: true } });

    await page.goto(`${relaying.url}/staff/dsns/${dsn.id}`);
    await page.getByRole("button", { name: "Send now" }).click();
    await page.getByRole("status").filter({ hasText: "Sent: the smarthost accepted the DSN." }).waitFor();
    const [received] = await receiver.waitForMessages(1, 15_000);
    // RFC 5321 §4.5.5: a DSN goes out with the null reverse-path, to the original envelope sender
    expect(received.mailFrom).toBe("");
    expect(received.rcptTo).toEqual(["writer@origin.example"]);
    expect(received.raw.equals(Buffer.from(dsn.raw))).toBe(true);
    expect((await getDb().dsn.findUniqueOrThrow({ where: { id: dsn.id } })).state).toBe("sent");
    const audit = await getDb().auditEvent.findFirstOrThrow({ where: { action: "dsn.send", objectId: dsn.id } });
    expect(audit).toMatchObject({ actorType: "staff", actorLabel: STAFF.email });
    expect(audit.details).toMatchObject({ result: "sent", rcptTo: "writer@origin.example" });
    await page.reload();
    await page.getByText("sent", { exact: true }).waitFor();
    expect(await page.getByRole("button", { name: "Send now" }).count()).toBe(0);
    await screenshot(page, "staff-dsn-sent");
  });

  it("answers a customer with 404 on the DSN pages", async () => {
    const page = await signedIn(relaying, CUSTOMER, "/my");
    const dsn = await getDb().dsn.findFirstOrThrow();
    expect((await page.goto(`${relaying.url}/staff/dsns`))?.status()).toBe(404);
    expect((await page.goto(`${relaying.url}/staff/dsns/${dsn.id}`))?.status()).toBe(404);
    expect(await page.getByTestId("dsn-text").count()).toBe(0);
  });

  it("sets the recipient delimiter on the domain page, and names the entry an extended address matched", async () => {
    const page = await signedIn(plain, STAFF, "/staff");
    const domainId = customer.domains.get("dsn.example")!;
    await updateDomain(CLI_ACTOR, domainId, { recipientPolicy: "listed" });
    await addRecipients(CLI_ACTOR, domainId, ["joe@dsn.example"]);
    await page.goto(`${plain.url}/staff/domains/${domainId}`);
    const form = page.getByRole("form", { name: "Domain settings" });
    await form.getByLabel("Recipient delimiter").fill("#");
    await form.getByRole("button", { name: "Save settings" }).click();
    await form.getByRole("alert").filter({ hasText: "+-_=." }).waitFor();
    expect((await getDomain(CLI_ACTOR, domainId)).recipientDelimiter).toBe("");
    await form.getByLabel("Recipient delimiter").fill("+-");
    await form.getByRole("button", { name: "Save settings" }).click();
    await form.getByRole("status").filter({ hasText: "Settings saved." }).waitFor();
    expect((await getDomain(CLI_ACTOR, domainId)).recipientDelimiter).toBe("+-");
    await page.reload();
    expect(await page.getByRole("form", { name: "Domain settings" }).getByLabel("Recipient delimiter").inputValue()).toBe("+-");
    await screenshot(page, "staff-domain-recipient-delimiter");

    const id = await holdMessage([{ address: "Joe+News@dsn.example", customer }], testMessage("for an extension"));
    await page.goto(`${plain.url}/staff/queue/${id}`);
    const recipients = page.getByRole("region", { name: "Recipients" }).last();
    await recipients.getByText("Joe+News@dsn.example").waitFor();
    await recipients.getByText("listed as joe@dsn.example").waitFor();
    await screenshot(page, "staff-message-listed-as");
    const own = await signedIn(plain, CUSTOMER, "/my");
    await own.goto(`${plain.url}/my/mail/${id}`);
    await own.getByRole("region", { name: "Recipients" }).last().getByText("listed as joe@dsn.example").waitFor();
  });
});
