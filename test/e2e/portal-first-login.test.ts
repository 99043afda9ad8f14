// One-time passwords in a real browser against the real portal: a user created by staff in the
// portal (staff and customer) must choose a password before any page, server action or route
// handler opens; a common password is refused; staff reset a password from the user's page, which
// ends the user's sessions and makes them choose again; customers reach neither the page nor its
// actions.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { createPortalUser } from "../../lib/users/users.ts";
import { type CapturedAction, captureServerAction, choosePassword, launchChromium, replayServerAction, screenshot, submitLogin } from "../helpers/browser.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";

const env = useTestDatabase();
const PASSWORD = "a-long-password-1";

let portal: Portal;
let browser: Browser;
let staff: Page;
const ids = { alpha: "", alphaUser: "", domain: "" };

async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("dialog", (d) => void d.accept());
  return { context, page };
}

/** Creates a user on the staff Users page; the one-time password it shows once. */
async function createUser(email: string, role: "staff" | "customer"): Promise<string> {
  await staff.goto(`${portal.url}/staff/users`);
  const form = staff.getByRole("form", { name: "New user" });
  await form.getByLabel("E-mail").fill(email);
  await form.getByLabel("Role").selectOption(role);
  if (role === "customer") await form.getByLabel("Customer").selectOption({ label: "Alpha" });
  await form.getByRole("button", { name: "Create user" }).click();
  return (await form.getByTestId("secret-value").textContent())!.trim();
}

beforeAll(async () => {
  const alpha = await createCustomer(CLI_ACTOR, { name: "Alpha" });
  const beta = await createCustomer(CLI_ACTOR, { name: "Beta" });
  ids.alpha = alpha.id;
  ids.domain = (await createDomain(CLI_ACTOR, { customer: alpha.id, name: "alpha.example", recipientPolicy: "accept_all" })).id;
  await createPortalUser(CLI_ACTOR, { email: "ops@isp.example", role: "staff", password: PASSWORD });
  ids.alphaUser = (await createPortalUser(CLI_ACTOR, { email: "admin@alpha.example", role: "customer", customer: alpha.id, password: PASSWORD })).user.id;
  await createPortalUser(CLI_ACTOR, { email: "admin@beta.example", role: "customer", customer: beta.id, password: PASSWORD });
  portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir, extra: { AUTH_DELAY_STEP_MS: "0" } });
  browser = await launchChromium();
  staff = (await freshPage()).page;
  await submitLogin(staff, portal.url, "ops@isp.example", PASSWORD);
  await staff.waitForURL((u) => u.pathname === "/staff");
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

describe("first login with a one-time password", () => {
  it("a staff user created in the portal must choose a password before any page, action or download; a common one is refused", async () => {
    const oneTime = await createUser("new-staff@isp.example", "staff");
    const { context, page } = await freshPage();
    await submitLogin(page, portal.url, "new-staff@isp.example", oneTime);
    await page.waitForURL((u) => u.pathname === "/setup/password");
    await screenshot(page, "setup-password");

    // pages, route handlers: all lead to the change page
    await page.goto(`${portal.url}/staff/queue`);
    await page.waitForURL((u) => u.pathname === "/setup/password");
    for (const path of ["/staff", "/account", `/staff/domains/${ids.domain}/recipients.csv`, "/"]) {
      const response = await context.request.get(`${portal.url}${path}`, { maxRedirects: 0 });
      expect(response.status(), path).toBeGreaterThanOrEqual(300);
      expect(response.status(), path).toBeLessThan(400);
      expect(new URL(response.headers()["location"], portal.url).pathname, path).toBe("/setup/password");
    }
    // a server action: the "create user" post of a signed-in staff member, replayed with this session
    await staff.goto(`${portal.url}/staff/users`);
    const form = staff.getByRole("form", { name: "New user" });
    await form.getByLabel("E-mail").fill("replayed@isp.example");
    await form.getByLabel("Role").selectOption("staff");
    const captured = await captureServerAction(staff, `${portal.url}/staff/users`, () => form.getByRole("button", { name: "Create user" }).click());
    const replay = (as: BrowserContext) => replayServerAction(as, `${portal.url}/staff/users`, captured);
    const pending = await replay(context);
    expect(pending.headers()["x-action-redirect"] ?? pending.headers()["location"] ?? "").toContain("/setup/password");
    expect(await getDb().portalUser.count({ where: { email: "replayed@isp.example" } })).toBe(0);
    // the same post from a session without a pending step does create the user
    expect(await (await replay(staff.context())).text()).toContain("User replayed@isp.example created.");
    expect(await getDb().portalUser.count({ where: { email: "replayed@isp.example" } })).toBe(1);

    // a common password is refused, with the reason, and nothing changes
    await choosePassword(page, oneTime, "Password12345");
    await page.getByRole("form", { name: "Change password" }).getByText("This is one of the most common passwords; choose another.").waitFor();
    await screenshot(page, "setup-password-common-refused");
    expect((await getDb().portalUser.findUniqueOrThrow({ where: { email: "new-staff@isp.example" } })).mustChangePassword).toBe(true);

    await choosePassword(page, oneTime, "harbour-lights-at-dusk");
    await page.getByText("Your password has been changed.").waitFor();
    // the change ended this session; the new password opens the portal
    await page.goto(`${portal.url}/staff`);
    await page.waitForURL((u) => u.pathname === "/login");
    await submitLogin(page, portal.url, "new-staff@isp.example", oneTime);
    await page.getByRole("alert").waitFor();
    await submitLogin(page, portal.url, "new-staff@isp.example", "harbour-lights-at-dusk");
    await page.waitForURL((u) => u.pathname === "/staff");
    await context.close();
  }, 180_000);

  it("a customer user created in the portal must choose a password too, then lands on their own pages", async () => {
    const oneTime = await createUser("second@alpha.example", "customer");
    const { context, page } = await freshPage();
    await submitLogin(page, portal.url, "second@alpha.example", oneTime);
    await page.waitForURL((u) => u.pathname === "/setup/password");
    await page.goto(`${portal.url}/my/mail`);
    await page.waitForURL((u) => u.pathname === "/setup/password");
    await choosePassword(page, oneTime, "tide-tables-and-ropes");
    await page.getByText("Your password has been changed.").waitFor();
    await submitLogin(page, portal.url, "second@alpha.example", "tide-tables-and-ropes");
    await page.waitForURL((u) => u.pathname === "/my");
    await context.close();
  }, 120_000);
});

describe("password reset by staff", () => {
  it("customer B reaches neither the user page nor its reset actions (as if they did not exist)", async () => {
    const { context: beta, page } = await freshPage();
    await submitLogin(page, portal.url, "admin@beta.example", PASSWORD);
    await page.waitForURL((u) => u.pathname === "/my");
    for (const path of [`/staff/users/${ids.alphaUser}`, "/staff/users"]) {
      const response = await beta.request.get(`${portal.url}${path}`, { maxRedirects: 0 });
      expect(response.status(), path).toBe(404);
    }
    // staff's reset posts for A, captured (one per page load: an aborted post ends the page's actions) and replayed with B's session
    const userUrl = `${portal.url}/staff/users/${ids.alphaUser}`;
    const posts: CapturedAction[] = [];
    for (const button of ["Reset password", "Reset two-factor sign-in"]) {
      await staff.goto(userUrl);
      posts.push(await captureServerAction(staff, userUrl, () => staff.getByRole("button", { name: button }).click()));
    }
    const before = await getDb().portalUser.findUniqueOrThrow({
      where: { id: ids.alphaUser },
      select: { passwordHash: true, sessionVersion: true, mustChangePassword: true },
    });
    for (const post of posts) {
      const response = await replayServerAction(beta, userUrl, post);
      expect(await response.text()).toContain("Not found.");
    }
    const after = await getDb().portalUser.findUniqueOrThrow({
      where: { id: ids.alphaUser },
      select: { passwordHash: true, sessionVersion: true, mustChangePassword: true },
    });
    expect([after.passwordHash, after.sessionVersion, after.mustChangePassword]).toEqual([before.passwordHash, before.sessionVersion, false]);
    expect(await getDb().auditEvent.count({ where: { objectId: ids.alphaUser, action: { in: ["user.password_reset", "user.2fa_reset"] } } })).toBe(0);
    await beta.close();
  }, 120_000);

  it("staff reset a password on the user's page: the old one and the user's sessions end, the new one must be changed", async () => {
    const { context: alpha, page } = await freshPage();
    await submitLogin(page, portal.url, "admin@alpha.example", PASSWORD);
    await page.waitForURL((u) => u.pathname === "/my");

    await staff.goto(`${portal.url}/staff/users`);
    await staff.getByRole("link", { name: "admin@alpha.example" }).click();
    await staff.waitForURL((u) => u.pathname === `/staff/users/${ids.alphaUser}`);
    await staff.getByRole("button", { name: "Reset password" }).click();
    const form = staff.getByRole("form", { name: "Reset password" });
    const oneTime = (await form.getByTestId("secret-value").textContent())!.trim();
    await staff.getByText("one-time: to be changed at the next sign-in").waitFor();
    await screenshot(staff, "staff-user-reset-password");
    const audit = await getDb().auditEvent.findFirstOrThrow({ where: { objectId: ids.alphaUser, action: "user.password_reset" } });
    expect(audit.actorLabel).toBe("ops@isp.example");

    // A's open session is over; the old password no longer works
    await page.goto(`${portal.url}/my`);
    await page.waitForURL((u) => u.pathname === "/login");
    await submitLogin(page, portal.url, "admin@alpha.example", PASSWORD);
    await page.getByRole("alert").waitFor();
    expect(new URL(page.url()).pathname).toBe("/login");
    // the one-time password leads to the change first
    await submitLogin(page, portal.url, "admin@alpha.example", oneTime);
    await page.waitForURL((u) => u.pathname === "/setup/password");
    await choosePassword(page, oneTime, PASSWORD.replace("long", "longer"));
    await page.getByText("Your password has been changed.").waitFor();
    await submitLogin(page, portal.url, "admin@alpha.example", PASSWORD.replace("long", "longer"));
    await page.waitForURL((u) => u.pathname === "/my");
    await alpha.close();
  }, 120_000);
});
