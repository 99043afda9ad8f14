// The queue a mail team works with, in Chromium: search by recipient, the last error in the rows,
// bulk bounce/delete with a confirmation that states the server's count (staff: "all matching";
// customer: ticked rows), the CSV export of the filtered list, bulk removal of listed recipients,
// and customer A's forged ids for customer B's mail changing nothing.
import fs from "node:fs";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { launchChromium, logIn, screenshot } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { domainId, holdMessage, makeCustomer, type TestCustomer } from "../helpers/fixtures.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";
import { sleep } from "../helpers/sleep.ts";

const env = useTestDatabase();
const PASSWORD = "a-long-password-1";
const LONG_ERROR = `451 4.4.1 <sales0@alpha.example>: connection to the customer's server timed out after 300 s; ${"x".repeat(120)} end`;

async function states(ids: string[]): Promise<string[]> {
  const rows = await getDb().delivery.findMany({ where: { messageId: { in: ids } }, select: { state: true } });
  return rows.map((r) => r.state).sort();
}

describe("portal: recipient search, bulk actions, CSV export", () => {
  let portal: Portal;
  let browser: Browser;
  let staff: BrowserContext, alpha: BrowserContext;
  const ids = { a: "", b: "", aDomain: "", bDomain: "" };
  const sales: string[] = [],
    info: string[] = [],
    beta: string[] = [];

  beforeAll(async () => {
    const a = await makeCustomer("Alpha", [
      { name: "alpha.example", recipients: ["sales0@alpha.example", "old1@alpha.example", "old2@alpha.example", "old3@alpha.example", "keep@alpha.example"] },
    ]);
    const b = await makeCustomer("Beta", ["beta.example"]);
    Object.assign(ids, { a: a.id, b: b.id, aDomain: domainId(a, "alpha.example"), bDomain: domainId(b, "beta.example") });
    const store = async (to: string, customer: TestCustomer, subject: string) => {
      const id = await holdMessage([{ address: to, customer }], Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`), "x@sender.example", { subject });
      await sleep(2);
      return id;
    };
    for (let i = 0; i < 5; i++) sales.push(await store(`sales${i}@alpha.example`, a, `Order ${i}`));
    for (let i = 0; i < 3; i++) info.push(await store(`info@alpha.example`, a, i === 0 ? "=SUM(A1:A9)" : `Question ${i}`));
    for (let i = 0; i < 3; i++) beta.push(await store(`sales${i}@beta.example`, b, `Beta private ${i}`));
    await getDb().delivery.updateMany({ where: { messageId: sales[0] }, data: { lastError: LONG_ERROR, attempts: 2 } });
    await createPortalUser(CLI_ACTOR, { email: "ops@isp.example", role: "staff", password: PASSWORD });
    await createPortalUser(CLI_ACTOR, { email: "admin@alpha.example", role: "customer", customer: a.id, password: PASSWORD });
    portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir });
    browser = await launchChromium();
    staff = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    alpha = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  });

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it("staff: search by recipient, the last error in the row, bounce all matching after 'Bounce 5 messages?', CSV of the filter", async () => {
    const page = await logIn(staff, portal.url, "ops@isp.example", PASSWORD);
    await page.goto(`${portal.url}/staff/queue`);
    await page.getByLabel("Recipient contains").fill("sales");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL((u) => u.searchParams.get("recipient") === "sales");
    expect(await page.getByTestId("queue-count").textContent()).toBe("8 messages");
    await page.getByLabel("Recipient contains").fill("@alpha");
    await page.getByLabel("Search sender and subject").fill("Order");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL((u) => u.searchParams.get("recipient") === "@alpha");
    expect(await page.getByTestId("queue-count").textContent()).toBe("5 messages");
    const error = page.getByTestId("last-error");
    expect(await error.getAttribute("title")).toBe(LONG_ERROR);
    const shown = (await error.textContent())!;
    expect(shown.endsWith("…") && shown.length < LONG_ERROR.length && LONG_ERROR.startsWith(shown.slice(0, -1))).toBe(true);

    // the CSV of exactly this filter, from the page's own link
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
    const csv = fs
      .readFileSync((await download.path())!, "utf8")
      .split("\r\n")
      .filter(Boolean);
    expect(csv[0]).toBe("queue_id,received,sender,subject,recipient,state,attempts,last_error,domain,customer,expires");
    expect(csv.slice(1).map((l) => l.split(",")[0])).toEqual([...sales].reverse());
    expect(csv.find((l) => l.startsWith(sales[0]))).toContain(`,sales0@alpha.example,queued,2,${LONG_ERROR},alpha.example,Alpha,`);

    await page.getByLabel(/all 5 matching the filter/).check();
    await page.getByRole("button", { name: "Bounce…" }).click();
    const dialog = page.getByRole("alertdialog");
    await dialog.waitFor();
    expect(await dialog.locator("#bulk-question").textContent()).toBe("Bounce 5 messages?");
    await screenshot(page, "queue-bulk-bounce-confirm");
    await dialog.getByRole("button", { name: "Bounce 5 messages" }).click();
    await page.getByRole("status").filter({ hasText: "Bounced 5 messages (5 recipients)." }).waitFor();
    await page.getByTestId("queue-count").filter({ hasText: "0 messages" }).waitFor();
    expect(await states(sales)).toEqual(Array(5).fill("bounced"));
    expect(await states(info)).toEqual(Array(3).fill("queued"));
    expect(await states(beta)).toEqual(Array(3).fill("queued"));
    const audit = await getDb().auditEvent.findFirstOrThrow({ where: { action: "queue.bulk_bounce" } });
    expect(audit.details).toMatchObject({ filter: { recipient: "@alpha", q: "Order" }, allMatching: true, messages: 5 });
  }, 120_000);

  it("customer: tick rows, 'Bounce 2 messages?', own-only CSV, and B's forged ids change nothing", async () => {
    const page = await logIn(alpha, portal.url, "admin@alpha.example", PASSWORD);
    await page.goto(`${portal.url}/my/mail?recipient=info%40`);
    expect(await page.getByTestId("queue-count").textContent()).toBe("3 messages");
    await page.getByLabel(`Select message ${info[1]}`).check();
    await page.getByLabel(`Select message ${info[2]}`).check();
    await page.getByRole("button", { name: "Bounce…" }).click();
    const dialog = page.getByRole("alertdialog");
    await dialog.waitFor();
    expect(await dialog.locator("#bulk-question").textContent()).toBe("Bounce 2 messages?");
    await screenshot(page, "my-mail-bulk-bounce-confirm");
    await dialog.getByRole("button", { name: "Bounce 2 messages" }).click();
    await page.getByRole("status").filter({ hasText: "Bounced 2 messages (2 recipients)." }).waitFor();
    expect(await states([info[1], info[2]])).toEqual(["bounced", "bounced"]);
    expect(await states([info[0]])).toEqual(["queued"]);

    // the export: the customer's own held mail only, the formula-looking subject neutralised
    await page.goto(`${portal.url}/my/mail`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
    const csv = fs.readFileSync((await download.path())!, "utf8");
    expect(csv.split("\r\n")[0]).toBe("queue_id,received,sender,subject,recipient,state,attempts,last_error,domain,expires");
    expect(csv).toContain(`${info[0]},`);
    expect(csv).toContain(",'=SUM(A1:A9),info@alpha.example,queued,");
    expect(csv).not.toContain("beta.example");
    expect(csv).not.toContain("Beta private");
    for (const path of [`/my/mail/export.csv?domain=${ids.bDomain}`, "/staff/queue/export.csv"]) {
      const response = await alpha.request.get(`${portal.url}${path}`);
      expect(response.status(), path).toBe(404);
      expect(await response.text()).not.toContain("Beta private");
    }

    // B's message id put into A's form, alone and beside A's own: "not found", nothing changes.
    // The form is changed only once the page is interactive (its buttons enabled), so hydration
    // cannot put the page's own values back.
    const interactive = () =>
      page.waitForFunction(() => {
        const buttons = document.querySelectorAll('form[aria-label="Bulk actions"] button');
        return buttons.length > 0 && [...buttons].every((b) => !(b as HTMLButtonElement).disabled);
      });
    await page.goto(`${portal.url}/my/mail`);
    for (const withOwn of [false, true]) {
      await interactive();
      if (withOwn) {
        // A's own held message ticked, and one more box with B's id added to the form
        await page.getByLabel(`Select message ${info[0]}`).check();
        await page.locator("body").evaluate((body, id) => {
          const box = document.createElement("input");
          Object.assign(box, { type: "checkbox", name: "ids", value: id, checked: true });
          box.setAttribute("form", "mail-bulk");
          body.appendChild(box);
        }, beta[0]);
      } else {
        // ticked first: React puts a checkbox's own value back after a click on it
        await page.getByLabel(`Select message ${info[0]}`).check();
        await page.getByLabel(`Select message ${info[0]}`).evaluate((box, id) => ((box as HTMLInputElement).value = id), beta[0]);
      }
      await page.getByRole("button", { name: "Delete…" }).click();
      await page.getByRole("alert").filter({ hasText: "Not found." }).waitFor();
      expect(await page.getByRole("alertdialog").count()).toBe(0);
      await page.reload();
    }
    // "all matching" with B's domain forged into the hidden filter
    await interactive();
    await page.locator('form[aria-label="Bulk actions"]').evaluate((form, domain) => {
      const input = document.createElement("input");
      Object.assign(input, { type: "hidden", name: "domain", value: domain });
      form.appendChild(input);
    }, ids.bDomain);
    await page.getByLabel(/matching the filter/).check();
    await page.getByRole("button", { name: "Bounce…" }).click();
    await page.getByRole("alert").filter({ hasText: "Not found." }).waitFor();
    expect(await states(beta)).toEqual(Array(3).fill("queued"));
    expect(await states([info[0]])).toEqual(["queued"]);
    expect(await getDb().auditEvent.count({ where: { actorLabel: "admin@alpha.example", action: { startsWith: "queue.bulk_" } } })).toBe(1);
  }, 180_000);

  it("staff: tick listed recipients, 'Remove 3 recipients?', and only those go", async () => {
    const page = await staff.newPage();
    await page.goto(`${portal.url}/staff/domains/${ids.aDomain}`);
    for (const address of ["old1@alpha.example", "old2@alpha.example", "old3@alpha.example"]) await page.getByLabel(`Select ${address}`).check();
    await page.getByRole("button", { name: "Remove selected…" }).click();
    const dialog = page.getByRole("alertdialog");
    await dialog.waitFor();
    expect(await dialog.locator("#bulk-question").textContent()).toBe("Remove 3 recipients?");
    await screenshot(page, "domain-recipients-bulk-remove-confirm");
    await dialog.getByRole("button", { name: "Remove 3 recipients" }).click();
    await page.getByRole("status").filter({ hasText: "Removed 3 recipients." }).waitFor();
    const left = await getDb().recipient.findMany({ where: { domainId: ids.aDomain }, orderBy: { address: "asc" }, select: { address: true } });
    expect(left.map((r) => r.address)).toEqual(["keep@alpha.example", "sales0@alpha.example"]);
    await page.getByLabel("Select old1@alpha.example").waitFor({ state: "detached" });
    expect(await page.getByLabel("Select keep@alpha.example").count()).toBe(1);
    // the customer cannot reach the staff domain page at all
    expect((await alpha.request.get(`${portal.url}/staff/domains/${ids.aDomain}`)).status()).toBe(404);
  });
});
