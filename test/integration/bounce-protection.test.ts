// Bounce protection (issue 12 §2) in the real mailer, against a hand-written customer server over
// real sockets: a server that refuses everything trips it (the refused mail stays held, no DSN,
// the session stops, the domain is marked with the replies); one unknown user among many is
// bounced with a DSN as before; exactly half refused does not trip, one more does; below the
// minimum the 5yz are final at the session's end; and a hold ends by "bounce" (DSNs now) or by
// "retry" (the next session delivers), for the domain's own customer only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { isMailharborError } from "../../lib/errors.ts";
import { resolveBounceHold } from "../../lib/protection/resolve-bounce-hold.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { customerActor, holdMessage, makeCustomer, type TestCustomer, testMessage } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer } from "../helpers/odmr-customer.ts";
import { scriptedReceiver, type ScriptedOptions, type ScriptedReceiver } from "../helpers/scripted-receiver.ts";

useTestDatabase();

const REFUSE = "550 5.1.1 no such user here";

/** Holds one single-recipient message per local part, in this order (the session offers them in it). */
async function holdEach(customer: TestCustomer, domain: string, locals: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const local of locals) ids.push(await holdMessage([{ address: `${local}@${domain}`, customer }], testMessage(`for ${local}`)));
  return ids;
}

async function deliveriesOf(ids: string[]) {
  const rows = await getDb().delivery.findMany({ where: { messageId: { in: ids } }, orderBy: { id: "asc" } });
  return rows.map((r) => ({ recipient: r.recipient.split("@")[0], state: r.state, held: r.protectionHeld }));
}

async function dsnCount(ids: string[]) {
  return getDb().dsn.count({ where: { messageId: { in: ids } } });
}

async function lastOutcome(customer: TestCustomer): Promise<string> {
  let outcome: string | null | undefined;
  await expect
    .poll(
      async () => {
        outcome = (await getDb().odmrSession.findFirst({ where: { loginName: customer.login, endedAt: { not: null } }, orderBy: { startedAt: "desc" } }))
          ?.outcome;
        return outcome;
      },
      { timeout: 15_000 },
    )
    .toBeTruthy();
  return outcome!;
}

describe("bounce protection in the reversed session", () => {
  let mailer: MailerProcess;

  beforeAll(async () => {
    mailer = await startMailer();
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  async function drain(customer: TestCustomer, domain: string, options: Partial<ScriptedOptions> = {}): Promise<ScriptedReceiver> {
    const odmr = await loggedInCustomer(mailer.odmrPort, customer.login, customer.secret);
    expect((await odmr.atrn([domain])).code).toBe(250);
    const receiver = scriptedReceiver({ extensions: ["PIPELINING", "8BITMIME"], ...options });
    await odmr.serveWith(receiver);
    await lastOutcome(customer);
    return receiver;
  }

  /**
   * A domain whose server refused everything, tripped: 12 held, `offered` of them offered. The trip
   * comes when the fifth refusal is judged; a refused envelope does not wait for the previous
   * result's commit, so one or a few more may have gone out meanwhile (all held too).
   */
  async function tripped(name: string, domain: string) {
    const customer = await makeCustomer(name, [domain]);
    const ids = await holdEach(customer, domain, "abcdefghijkl".split(""));
    const receiver = await drain(customer, domain, { rcpt: () => REFUSE });
    const offered = receiver.commands.filter((c) => c.startsWith("MAIL")).length;
    expect(offered).toBeGreaterThanOrEqual(5);
    expect(offered).toBeLessThan(12);
    return { customer, ids, receiver, offered };
  }

  it("a server that refuses everything: the domain is held with the replies, nothing bounced, no DSN, the session stopped", async () => {
    const { customer, ids, offered } = await tripped("Refuser", "refuser.example");
    const states = await deliveriesOf(ids);
    expect(states.map((s) => s.state)).toEqual(Array(12).fill("queued"));
    // what was offered is held as refused; the rest was never offered and is plain held mail
    expect(states.map((s) => s.held)).toEqual([...Array(offered).fill(true), ...Array(12 - offered).fill(false)]);
    expect(await dsnCount(ids)).toBe(0);
    const domain = await getDb().domain.findUniqueOrThrow({ where: { name: "refuser.example" } });
    expect(domain.bounceHeldAt).not.toBeNull();
    const evidence = domain.bounceHeldEvidence as { offered: number; refused: number; percent: number; replies: { recipient: string; reply: string }[] };
    expect(evidence).toMatchObject({ offered: 5, refused: 5, percent: 50 });
    expect(evidence.replies[0]).toEqual({ recipient: "a@refuser.example", reply: REFUSE });
    expect(await lastOutcome(customer)).toMatch(/bounce protection: the customer's server refused 5 of 5 recipients of refuser\.example/);
    const row = await getDb().delivery.findFirstOrThrow({ where: { messageId: ids[0] } });
    expect(row.lastError).toBe(REFUSE);
    expect(mailer.logs.some((l) => l.code === "ODMR_BOUNCE_PROTECTION_TRIPPED" && l.domain === "refuser.example")).toBe(true);
  });

  it("one unknown user among many accepted: that one bounces with a DSN as before, the domain is not held", async () => {
    const customer = await makeCustomer("Oneoff", ["oneoff.example"]);
    // the unknown user comes first: its 5yz waits for the minimum, then is bounced
    const ids = await holdEach(customer, "oneoff.example", ["nobody", "b", "c", "d", "e", "f", "g", "h"]);
    const receiver = await drain(customer, "oneoff.example", { rcpt: (a) => (a.startsWith("nobody@") ? REFUSE : "250 2.1.5 ok") });
    expect(receiver.messages).toHaveLength(7);
    expect((await deliveriesOf(ids)).map((s) => s.state)).toEqual(["bounced", ...Array(7).fill("delivered")]);
    expect(await dsnCount(ids)).toBe(1);
    expect((await getDb().domain.findUniqueOrThrow({ where: { name: "oneoff.example" } })).bounceHeldAt).toBeNull();
  });

  it("exactly half refused does not trip; one refusal more does", async () => {
    const half = await makeCustomer("Halfway", ["halfway.example"]);
    const alternate = ["a1", "r1", "a2", "r2", "a3", "r3", "a4", "r4", "a5", "r5"];
    const refuseR = { rcpt: (a: string) => (a.startsWith("r") ? REFUSE : "250 2.1.5 ok") };
    const ids = await holdEach(half, "halfway.example", alternate);
    await drain(half, "halfway.example", refuseR);
    expect((await deliveriesOf(ids)).map((s) => s.state)).toEqual(alternate.map((l) => (l.startsWith("r") ? "bounced" : "delivered")));
    expect(await dsnCount(ids)).toBe(5);
    expect((await getDb().domain.findUniqueOrThrow({ where: { name: "halfway.example" } })).bounceHeldAt).toBeNull();

    const more = await makeCustomer("Overhalf", ["overhalf.example"]);
    const moreIds = await holdEach(more, "overhalf.example", [...alternate, "r6"]);
    await drain(more, "overhalf.example", refuseR);
    const states = await deliveriesOf(moreIds);
    // 6 of 11 is more than half: the sixth refusal is held; the five before it were decided under the threshold
    expect(states.at(-1)).toEqual({ recipient: "r6", state: "queued", held: true });
    expect(states.filter((s) => s.state === "bounced")).toHaveLength(5);
    expect(await dsnCount(moreIds)).toBe(5);
    expect((await getDb().domain.findUniqueOrThrow({ where: { name: "overhalf.example" } })).bounceHeldAt).not.toBeNull();
  });

  it("below the minimum of 5 offered the refusals are final at the session's end (DSNs), and with protection off as before", async () => {
    const few = await makeCustomer("Fewmail", ["fewmail.example"]);
    const ids = await holdEach(few, "fewmail.example", ["a", "b", "c"]);
    await drain(few, "fewmail.example", { rcpt: () => REFUSE });
    expect((await deliveriesOf(ids)).map((s) => s.state)).toEqual(["bounced", "bounced", "bounced"]);
    expect(await dsnCount(ids)).toBe(3);

    const off = await makeCustomer("Unguarded", ["unguarded.example"]);
    const set = await runCli(["domain", "set", "--domain", "unguarded.example", "--bounce-protection", "off", "--json"]);
    expect(set.code).toBe(0);
    expect(set.json.bounceProtectionPercent).toBeNull();
    const offIds = await holdEach(off, "unguarded.example", ["a", "b", "c", "d", "e", "f"]);
    await drain(off, "unguarded.example", { rcpt: () => REFUSE });
    expect((await deliveriesOf(offIds)).map((s) => s.state)).toEqual(Array(6).fill("bounced"));
    expect(await dsnCount(offIds)).toBe(6);
    expect((await runCli(["domain", "set", "--domain", "unguarded.example", "--bounce-protection", "100"])).code).toBe(2);
  });

  it("release: the domain's own customer bounces the held refusals (DSNs now); another customer's id is NOT_FOUND", async () => {
    const { customer, ids, offered } = await tripped("Releaser", "releaser.example");
    const other = await makeCustomer("Bystander", ["bystander.example"]);
    const refused = await resolveBounceHold(customerActor(other), "releaser.example", "bounce").catch((e: unknown) => e);
    expect(isMailharborError(refused, "NOT_FOUND")).toBe(true);
    expect(await dsnCount(ids)).toBe(0);

    const done = await resolveBounceHold(customerActor(customer), "releaser.example", "bounce");
    expect(done).toEqual({ domain: "releaser.example", action: "bounce", deliveries: offered, dsns: offered });
    const states = await deliveriesOf(ids);
    expect(states.map((s) => s.state)).toEqual([...Array(offered).fill("bounced"), ...Array(12 - offered).fill("queued")]);
    expect(await dsnCount(ids)).toBe(offered);
    const dsn = await getDb().dsn.findFirstOrThrow({ where: { messageId: ids[0] }, select: { raw: true } });
    expect(Buffer.from(dsn.raw).toString()).toContain(`Diagnostic-Code: smtp; ${REFUSE}`);
    // the bytes of a message nobody needs any more are gone, those still held are kept
    expect(await getDb().messageBody.count({ where: { messageId: { in: ids } } })).toBe(12 - offered);
    const domain = await getDb().domain.findUniqueOrThrow({ where: { name: "releaser.example" } });
    expect(domain.bounceHeldAt).toBeNull();
    expect(domain.bounceHeldEvidence).toBeNull();
    expect(await getDb().auditEvent.count({ where: { action: "domain.bounce-hold.bounce", objectId: domain.id } })).toBe(1);
  });

  it("retry: staff clear the hold, and the next session delivers what was refused", async () => {
    const { customer, ids, offered } = await tripped("Retrier", "retrier.example");
    const late = await holdEach(customer, "retrier.example", ["late"]);
    const cli = await runCli(["domain", "hold", "--domain", "retrier.example", "--retry", "--json"]);
    expect(cli.code).toBe(0);
    expect(cli.json).toMatchObject({ action: "retry", deliveries: offered });
    expect((await deliveriesOf(ids)).every((s) => s.state === "queued" && !s.held)).toBe(true);
    const receiver = await drain(customer, "retrier.example");
    expect(receiver.messages).toHaveLength(13);
    expect((await deliveriesOf([...ids, ...late])).map((s) => s.state)).toEqual(Array(13).fill("delivered"));
    expect(await dsnCount(ids)).toBe(0);
  });

  it("while a domain is held, an isolated refusal is held too, not bounced", async () => {
    const { customer } = await tripped("Stillheld", "stillheld.example");
    await resolveBounceHold(CLI_ACTOR, "stillheld.example", "bounce");
    await getDb().domain.update({ where: { name: "stillheld.example" }, data: { bounceHeldAt: new Date() } });
    const ids = await holdEach(customer, "stillheld.example", ["nobody", "b"]);
    await drain(customer, "stillheld.example", { rcpt: (a) => (a.startsWith("nobody@") ? REFUSE : "250 2.1.5 ok") });
    const states = await deliveriesOf(ids);
    expect(states[0]).toEqual({ recipient: "nobody", state: "queued", held: true });
    expect(await dsnCount(ids)).toBe(0);
  });
});
