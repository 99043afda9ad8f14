// ETRN runs against real SMTP servers: an ATRN session and an ETRN run sharing one domain without
// a duplicate, per-recipient outcomes (2yz, 4yz, 5yz with a DSN), a target that is down (mail stays
// held, the reason on each delivery) and held mail following a changed target, the TLS policies,
// "deliver now" from the CLI and from the core (as the portal asks), and a shutdown during a run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { loadConfig } from "../../lib/config/config.ts";
import { getDb } from "../../lib/db/client.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { requestEtrnRelease } from "../../lib/etrn/release-requests.ts";
import { loadTls, type TlsMaterial } from "../../lib/tls/load-tls.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { customerActor, holdMessage, makeCustomer, STAFF_ACTOR, type TestCustomer, testMessage } from "../helpers/fixtures.ts";
import { freePort } from "../helpers/free-port.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer } from "../helpers/odmr-customer.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";
import { startSmtpReceiver, type ReceivedMessage, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

let mailer: MailerProcess;
let material: TlsMaterial;
const receivers: SmtpReceiver[] = [];

async function receiver(...args: Parameters<typeof startSmtpReceiver>): Promise<SmtpReceiver> {
  const started = await startSmtpReceiver(...args);
  receivers.push(started);
  return started;
}

function subjects(messages: ReceivedMessage[]): string[] {
  return messages.map((m) => /Subject: (.*)\r\n/.exec(m.raw.toString())![1]);
}

async function etrnCustomer(name: string, domain: string, target: string, tls: "opportunistic" | "required" | "none" = "opportunistic"): Promise<TestCustomer> {
  const customer = await makeCustomer(name, [domain]);
  await updateDomain(CLI_ACTOR, domain, { etrnEnabled: true, etrnTarget: target, etrnTls: tls });
  return customer;
}

async function deliveriesOf(customer: TestCustomer, domain: string) {
  return getDb().delivery.findMany({ where: { domainId: customer.domains.get(domain) }, orderBy: { id: "asc" } });
}

/** The ETRN session records of a customer once they have ended, oldest first. */
async function endedRuns(customer: TestCustomer) {
  return getDb().odmrSession.findMany({ where: { kind: "etrn", customerId: customer.id, endedAt: { not: null } }, orderBy: { startedAt: "asc" } });
}

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-etrn-target-"));
  material = await loadTls(loadConfig({ MAILHARBOR_DATA_DIR: dir, MAIL_HOSTNAME: "customer.test.example" }));
  fs.rmSync(dir, { recursive: true, force: true });
  mailer = await startMailer({ ETRN_REQUEST_POLL_SECONDS: "1", ODMR_CLAIM_BATCH: "5" });
});

afterAll(async () => {
  await mailer?.stop();
  await Promise.all(receivers.map((r) => r.close()));
});

describe("an ETRN run beside ATRN", () => {
  it("shares one domain with an ATRN session without delivering any recipient twice", async () => {
    const target = await receiver({ beforeReply: () => sleep(10) });
    const both = await etrnCustomer("Both", "both.example", `127.0.0.1:${target.port}`);
    for (let i = 0; i < 60; i++) {
      await holdMessage([{ address: `user${i % 3}@both.example`, customer: both }], testMessage(`race ${String(i).padStart(3, "0")}`));
    }
    const atrn = (async () => {
      const customer = await loggedInCustomer(mailer.odmrPort, both.login, both.secret);
      expect((await customer.atrn(["both.example"])).code).toBe(250);
      const reversed = await startSmtpReceiver({ beforeReply: () => sleep(10) }, { listen: false });
      await customer.serveWith(reversed);
      return subjects(reversed.messages);
    })();
    const etrn = (async () => {
      const dialog = await SmtpDialog.open(mailer.mxPort);
      await dialog.command("EHLO customer.both.example");
      expect((await dialog.authCramMd5(both.login, both.secret)).code).toBe(235);
      expect((await dialog.command("ETRN both.example")).code).toBeOneOf([250, 252, 253]);
      dialog.close();
      await expect.poll(async () => (await endedRuns(both)).length, { timeout: 30_000 }).toBe(1);
      return subjects(target.messages);
    })();
    const [byAtrn, byEtrn] = await Promise.all([atrn, etrn]);
    const all = [...byAtrn, ...byEtrn];
    expect(all).toHaveLength(60);
    expect(new Set(all).size).toBe(60);
    expect(byAtrn.length).toBeGreaterThan(0);
    expect(byEtrn.length).toBeGreaterThan(0);
    expect((await deliveriesOf(both, "both.example")).every((d) => d.state === "delivered")).toBe(true);
    const [run] = await endedRuns(both);
    expect(run.messagesDelivered).toBe(byEtrn.length);
  });

  it("keeps 4yz recipients held, bounces 5yz ones with a DSN, and delivers the rest, on a CLI release", async () => {
    const target = await receiver({
      rcpt: (address) =>
        address.startsWith("full@")
          ? { code: 452, text: "4.2.2 mailbox full" }
          : address.startsWith("gone@")
            ? { code: 550, text: "5.1.1 no such user" }
            : undefined,
    });
    const mixed = await etrnCustomer("Mixed", "mixed.example", `127.0.0.1:${target.port}`);
    const id = await holdMessage(
      ["ok", "full", "gone"].map((local) => ({ address: `${local}@mixed.example`, customer: mixed })),
      testMessage("mixed"),
      "author@origin.example",
    );
    const released = await runCli(["domain", "release", "--domain", "mixed.example", "--json"]);
    expect(released.code).toBe(0);
    expect(released.json).toMatchObject({ domain: "mixed.example", domainId: mixed.domains.get("mixed.example") });
    await target.waitForMessages(1);
    expect(target.messages[0].rcptTo).toEqual(["ok@mixed.example"]);
    await expect
      .poll(async () => (await deliveriesOf(mixed, "mixed.example")).map((d) => [d.recipient, d.state, d.lastError]))
      .toEqual([
        ["ok@mixed.example", "delivered", null],
        ["full@mixed.example", "queued", "452 4.2.2 mailbox full"],
        ["gone@mixed.example", "bounced", "550 5.1.1 no such user"],
      ]);
    const dsns = await getDb().dsn.findMany({ where: { messageId: id } });
    expect(dsns.map((d) => [d.rcptTo, d.reason])).toEqual([["author@origin.example", "bounced"]]);
    await expect
      .poll(async () => (await endedRuns(mixed)).map((s) => [s.remoteAddress, s.reply, s.messagesDelivered]))
      .toEqual([["cli", "253 OK, 1 pending messages for node mixed.example started", 1]]);
    // the request was taken: nothing is waiting any more
    expect((await getDb().domain.findUnique({ where: { name: "mixed.example" } }))!.etrnRequestedAt).toBeNull();
  });

  it("moves a domain from ATRN to ETRN without a flag day: with ATRN off, ATRN gets 450 and ETRN still works", async () => {
    const target = await receiver();
    const moving = await etrnCustomer("Migrating", "migrating.example", `127.0.0.1:${target.port}`);
    await holdMessage([{ address: "m@migrating.example", customer: moving }], testMessage("first by atrn"));
    // both on: the customer's old fetchmail still collects
    let customer = await loggedInCustomer(mailer.odmrPort, moving.login, moving.secret);
    expect((await customer.atrn(["migrating.example"])).code).toBe(250);
    await customer.serveWith(await startSmtpReceiver({}, { listen: false }));
    await holdMessage([{ address: "m@migrating.example", customer: moving }], testMessage("then by etrn"));
    await updateDomain(CLI_ACTOR, "migrating.example", { atrnEnabled: false });
    customer = await loggedInCustomer(mailer.odmrPort, moving.login, moving.secret);
    expect((await customer.atrn(["migrating.example"])).code).toBe(450);
    customer.end();
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await dialog.command("EHLO customer.migrating.example");
    expect((await dialog.authCramMd5(moving.login, moving.secret)).code).toBe(235);
    expect((await dialog.command("ETRN migrating.example")).last).toBe("253 2.0.0 OK, 1 pending messages for node migrating.example started");
    dialog.close();
    await target.waitForMessages(1);
    expect(subjects(target.messages)).toEqual(["then by etrn"]);
  });

  it("refuses a release from the CLI for a domain without ETRN", async () => {
    await makeCustomer("Plain", ["plain.example"]);
    const result = await runCli(["domain", "release", "--domain", "plain.example", "--json"]);
    expect(result.code).toBe(2);
    expect(result.json.error).toMatchObject({ code: "INVALID_INPUT" });
    expect(result.json.error.message).toMatch(/ETRN is not enabled for plain\.example/);
  });

  it("lets a customer ask for a release of its own domain, and finds nothing of another customer's", async () => {
    const own = await etrnCustomer("Self", "self.example", "127.0.0.1:2525");
    await etrnCustomer("Stranger", "stranger.example", "127.0.0.1:2525");
    const self = customerActor(own, "self@customer.example");
    await expect(requestEtrnRelease(self, "stranger.example")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await getDb().domain.findUnique({ where: { name: "stranger.example" } }))!.etrnRequestedAt).toBeNull();
    const request = await requestEtrnRelease(self, "self.example");
    expect(request.domain).toBe("self.example");
    // the mailer may take the request at once; the audit trail keeps who asked
    const events = await getDb().auditEvent.findMany({ where: { action: "domain.etrn_release", objectId: request.domainId } });
    expect(events.map((e) => [e.actorType, e.actorLabel])).toEqual([["customer", "self@customer.example"]]);
  });
});

describe("targets", () => {
  it("keeps the mail held with the reason when the target is down, and sends it to a changed target", async () => {
    const downPort = await freePort();
    const moving = await etrnCustomer("Moving", "moving.example", `127.0.0.1:${downPort}`);
    const raw = testMessage("waiting for the move");
    await holdMessage([{ address: "m@moving.example", customer: moving }], raw);
    await requestEtrnRelease(STAFF_ACTOR, "moving.example");
    await expect.poll(async () => (await endedRuns(moving)).length, { timeout: 15_000 }).toBe(1);
    const [failed] = await endedRuns(moving);
    expect(failed.remoteAddress).toBe("staff: ops@isp.example");
    expect(failed.outcome).toBe(`not delivered: could not connect to 127.0.0.1:${downPort}: ECONNREFUSED`);
    // the reply said "started"; the record says what happened
    expect(failed).toMatchObject({ reply: expect.stringMatching(/^253 /), releaseFailed: true, messagesDelivered: 0 });
    const [held] = await deliveriesOf(moving, "moving.example");
    expect(held).toMatchObject({ state: "queued", lastError: `could not connect to 127.0.0.1:${downPort}: ECONNREFUSED` });

    // the target is read when a run starts: the held mail goes to the new one
    const target = await receiver();
    await updateDomain(CLI_ACTOR, "moving.example", { etrnTarget: `127.0.0.1:${target.port}` });
    await requestEtrnRelease(STAFF_ACTOR, "moving.example");
    await target.waitForMessages(1);
    expect(target.messages[0].raw.equals(raw)).toBe(true);
    await expect.poll(async () => (await deliveriesOf(moving, "moving.example")).map((d) => d.state)).toEqual(["delivered"]);
    await expect.poll(async () => (await endedRuns(moving)).map((r) => r.releaseFailed)).toEqual([true, false]);
    const audit = await getDb().auditEvent.findMany({ where: { action: "domain.etrn_release", objectId: moving.domains.get("moving.example") } });
    expect(audit.map((a) => a.actorLabel)).toEqual(["ops@isp.example", "ops@isp.example"]);
  });

  it("keeps the mail held when TLS is required and the target offers no STARTTLS", async () => {
    const clear = await receiver();
    const strict = await etrnCustomer("Strict", "strict.example", `127.0.0.1:${clear.port}`, "required");
    await holdMessage([{ address: "s@strict.example", customer: strict }], testMessage("secret"));
    await requestEtrnRelease(CLI_ACTOR, "strict.example");
    await expect.poll(async () => (await endedRuns(strict)).length, { timeout: 15_000 }).toBe(1);
    expect(clear.messages).toHaveLength(0);
    const reason = `TLS is required for this domain, but 127.0.0.1:${clear.port} does not offer STARTTLS`;
    expect((await endedRuns(strict))[0].outcome).toBe(`not delivered: ${reason}`);
    expect(await deliveriesOf(strict, "strict.example")).toMatchObject([{ state: "queued", lastError: reason }]);

    // a target that offers STARTTLS gets it over TLS
    const secure = await receiver({}, { tls: material });
    await updateDomain(CLI_ACTOR, "strict.example", { etrnTarget: `127.0.0.1:${secure.port}` });
    await requestEtrnRelease(CLI_ACTOR, "strict.example");
    await secure.waitForMessages(1);
    expect(secure.messages[0].secure).toBe(true);
    await expect.poll(async () => (await endedRuns(strict)).map((s) => s.tls)).toEqual([false, true]);
  });

  it("never asks for TLS when the policy is none", async () => {
    const secure = await receiver({}, { tls: material });
    const open = await etrnCustomer("Open", "open.example", `127.0.0.1:${secure.port}`, "none");
    await holdMessage([{ address: "o@open.example", customer: open }], testMessage("in clear"));
    await requestEtrnRelease(CLI_ACTOR, "open.example");
    await secure.waitForMessages(1);
    expect(secure.messages[0].secure).toBe(false);
  });
});

describe("a mailer stopping during a run", () => {
  it("finishes the message in flight, says QUIT and gives the rest back", async () => {
    const own = await startMailer({ SHUTDOWN_GRACE_SECONDS: "10", ODMR_CLAIM_BATCH: "5" });
    let count = 0;
    let stopped: Promise<number | null> | null = null;
    const target = await receiver({
      beforeReply: async () => {
        if (++count === 3) stopped = own.stop();
        await sleep(50);
      },
    });
    const halted = await etrnCustomer("Halted", "halted.example", `127.0.0.1:${target.port}`);
    for (let i = 0; i < 12; i++) await holdMessage([{ address: `h${i}@halted.example`, customer: halted }], testMessage(`halt ${i}`));
    const dialog = await SmtpDialog.open(own.mxPort);
    await dialog.command("EHLO customer.halted.example");
    expect((await dialog.authCramMd5(halted.login, halted.secret)).code).toBe(235);
    expect((await dialog.command("ETRN halted.example")).last).toMatch(/^253 /);
    await expect.poll(() => stopped !== null, { timeout: 15_000 }).toBe(true);
    expect(await stopped).toBe(0);
    const delivered = target.messages.length;
    expect(delivered).toBeGreaterThanOrEqual(3);
    expect(delivered).toBeLessThan(12);
    const states = (await deliveriesOf(halted, "halted.example")).map((d) => d.state);
    expect(states.filter((s) => s === "delivered")).toHaveLength(delivered);
    expect(states.filter((s) => s === "queued")).toHaveLength(12 - delivered);
    expect(await getDb().delivery.count({ where: { domainId: halted.domains.get("halted.example"), leaseOwner: { not: null } } })).toBe(0);
    const [run] = await endedRuns(halted);
    expect(run.outcome).toMatch(/shutting down/);
  });
});
