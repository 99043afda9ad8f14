// The ODMR listener driven by a scripted customer against the real mailer process: the ODMR
// command profile, AUTH rules, every ATRN reply, the turned-around delivery with per-recipient
// outcomes and DSNs, and session records.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { setCustomerStatus } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { restrictLogin, rotateLogin, setLoginStatus } from "../../lib/logins/logins.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer, OdmrCustomer } from "../helpers/odmr-customer.ts";
import { parseDsn } from "../helpers/parse-dsn.ts";
import { startSmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

async function deliveryStates(messageId: string) {
  const rows = await getDb().delivery.findMany({
    where: { messageId },
    orderBy: { id: "asc" },
    select: { recipient: true, state: true, lastError: true, attempts: true },
  });
  return rows;
}

async function hasBody(messageId: string) {
  return (await getDb().messageBody.count({ where: { messageId } })) > 0;
}

describe("ODMR listener", () => {
  let mailer: MailerProcess;
  let acme: TestCustomer;
  let beta: TestCustomer;

  beforeAll(async () => {
    acme = await makeCustomer("Acme", ["acme.example", "acme-two.example"]);
    beta = await makeCustomer("Beta", ["beta.example"]);
    mailer = await startMailer({ ATRN_RATE_PER_MINUTE: "50", AUTH_DELAY_STEP_MS: "20", AUTH_LOCK_AFTER: "5" });
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  it("greets at once (no fixed early-talker wait before the 220)", async () => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const customer = await OdmrCustomer.connect(mailer.odmrPort);
      times.push(Date.now() - started);
      await customer.command("QUIT");
    }
    // smtp-server's own init() waits 100 ms before every greeting, so not one would come sooner;
    // the fastest of ten, so that a busy machine's slow scheduling does not decide it
    expect(Math.min(...times)).toBeLessThan(95);
  });

  it("offers AUTH and ATRN (and STARTTLS), and keeps to the ODMR profile", async () => {
    const customer = await OdmrCustomer.connect(mailer.odmrPort);
    const ehlo = await customer.ehlo();
    expect(ehlo.code).toBe(250);
    expect(ehlo.lines).toContain("AUTH CRAM-MD5");
    expect(ehlo.lines).toContain("ATRN");
    expect(ehlo.lines).toContain("STARTTLS");
    expect(ehlo.lines.some((l) => /PIPELINING/i.test(l))).toBe(false);
    expect((await customer.atrn(["acme.example"])).code).toBe(530);
    expect((await customer.authPlain(acme.login, acme.secret)).code).toBe(538);
    expect((await customer.command("MAIL FROM:<a@b.example>")).code).toBe(502);
    expect((await customer.command("ETRN acme.example")).code).toBe(502);
    expect((await customer.command("XYZZY")).code).toBe(500);
    expect((await customer.command("NOOP")).code).toBe(250);
    expect((await customer.command("QUIT")).code).toBe(221);
    // ATRN belongs to the ODMR listeners only: the MX does not know it
    const mx = await OdmrCustomer.connect(mailer.mxPort);
    await mx.ehlo();
    expect((await mx.command("ATRN acme.example")).code).toBe(500);
    mx.end();
  });

  it("delivers every requested domain after STARTTLS and AUTH PLAIN, over the same TLS session", async () => {
    const raw1 = testMessage("multi-domain");
    const raw2 = testMessage("second", ".leading dot line\r\n..two dots\r\nend\r\n");
    const first = await holdMessage(
      [
        { address: "alice@acme.example", customer: acme },
        { address: "bob@acme-two.example", customer: acme },
      ],
      raw1,
    );
    const second = await holdMessage([{ address: "carol@acme-two.example", customer: acme }], raw2);
    const customer = await OdmrCustomer.connect(mailer.odmrPort);
    await customer.ehlo();
    expect((await customer.startTls()).code).toBe(220);
    const ehlo = await customer.ehlo();
    expect(ehlo.lines).toContain("AUTH CRAM-MD5 PLAIN LOGIN");
    expect(ehlo.lines).not.toContain("STARTTLS");
    expect((await customer.authPlain(acme.login, acme.secret)).code).toBe(235);
    const reply = await customer.atrn(["acme.example", "acme-two.example"]);
    expect(reply.code).toBe(250);
    const receiver = await startSmtpReceiver({}, { listen: false });
    await customer.serveWith(receiver);
    expect(receiver.messages).toHaveLength(2);
    const multi = receiver.messages.find((m) => m.raw.includes("Subject: multi-domain"))!;
    // one transaction with both recipients
    expect(multi.rcptTo.sort()).toEqual(["alice@acme.example", "bob@acme-two.example"]);
    expect(multi.raw.equals(raw1)).toBe(true);
    const dotted = receiver.messages.find((m) => m.raw.includes("Subject: second"))!;
    // dot-stuffed on the way, unstuffed by the receiver: byte for byte what was held
    expect(dotted.raw.equals(raw2)).toBe(true);
    expect(receiver.clients).toEqual([mailer.hostname, mailer.hostname]);
    for (const id of [first, second]) {
      expect((await deliveryStates(id)).every((d) => d.state === "delivered")).toBe(true);
      expect(await hasBody(id)).toBe(false);
    }
    const session = await getDb().odmrSession.findFirst({ where: { loginName: acme.login, reply: { startsWith: "250" } }, orderBy: { startedAt: "desc" } });
    expect(session).toMatchObject({ tls: true, messagesDelivered: 2, recipientsDelivered: 3, domainsRequested: ["acme.example", "acme-two.example"] });
    expect(session!.endedAt).not.toBeNull();
    expect(session!.outcome).toMatch(/^completed/);
  });

  it("answers 501 to a malformed list, 450 to another customer's domain (releasing nothing) and 453 when nothing is held", async () => {
    const held = await holdMessage([{ address: "x@acme.example", customer: acme }], testMessage("held for acme"));
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await customer.command("ATRN acme.example, acme-two.example")).code).toBe(501);
    expect((await customer.command("ATRN vm")).code).toBe(501);
    expect((await customer.command("ATRN acme.example,,beta.example")).code).toBe(501);
    const refused = await customer.atrn(["acme.example", "beta.example"]);
    expect(refused.code).toBe(450);
    expect(refused.lines).toHaveLength(1);
    expect((await customer.atrn(["unknown.example"])).code).toBe(450);
    expect((await deliveryStates(held)).map((d) => d.state)).toEqual(["queued"]);
    expect((await customer.atrn(["acme-two.example"])).code).toBe(453);
    expect((await customer.command("QUIT")).code).toBe(221);

    const other = await loggedInCustomer(mailer.odmrPort, beta.login, beta.secret);
    expect((await other.atrn(["acme.example"])).code).toBe(450);
    const none = await other.atrn();
    expect(none).toMatchObject({ code: 453, text: "You have no mail" });
    other.end();
    expect((await deliveryStates(held)).map((d) => d.state)).toEqual(["queued"]);
    await expect
      .poll(() => getDb().odmrSession.findFirst({ where: { loginName: beta.login, endedAt: { not: null } }, orderBy: { startedAt: "desc" } }))
      .toMatchObject({ reply: "453 You have no mail", domainsRequested: ["beta.example"], outcome: "ATRN answered 453 You have no mail" });
  });

  it("releases every domain of the login for a bare ATRN", async () => {
    const id = await holdMessage([{ address: "bare@acme.example", customer: acme }], testMessage("bare atrn"));
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await customer.atrn()).code).toBe(250);
    const receiver = await startSmtpReceiver({}, { listen: false });
    await customer.serveWith(receiver);
    expect(receiver.messages.map((m) => m.rcptTo)).toContainEqual(["bare@acme.example"]);
    expect((await deliveryStates(id))[0].state).toBe("delivered");
    const session = await getDb().odmrSession.findFirst({ where: { loginName: acme.login, reply: { startsWith: "250" } }, orderBy: { startedAt: "desc" } });
    expect(session!.domainsRequested.sort()).toEqual(["acme-two.example", "acme.example"]);
  });

  it("keeps 4yz recipients held, bounces 5yz ones with a DSN to the sender, and purges bytes only when nobody needs them", async () => {
    const raw = testMessage("mixed outcomes");
    const id = await holdMessage(
      [
        { address: "ok@acme.example", customer: acme },
        { address: "full@acme.example", customer: acme },
        { address: "gone@acme.example", customer: acme },
      ],
      raw,
      "author@origin.example",
    );
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await customer.atrn(["acme.example"])).code).toBe(250);
    const receiver = await startSmtpReceiver(
      {
        rcpt: (address) =>
          address === "full@acme.example"
            ? { code: 452, text: "4.2.2 Mailbox full" }
            : address === "gone@acme.example"
              ? { code: 550, text: "5.1.1 No such user here" }
              : undefined,
      },
      { listen: false },
    );
    await customer.serveWith(receiver);
    expect(receiver.messages.map((m) => m.rcptTo)).toEqual([["ok@acme.example"]]);
    const states = await deliveryStates(id);
    expect(states.map((d) => [d.recipient, d.state])).toEqual([
      ["ok@acme.example", "delivered"],
      ["full@acme.example", "queued"],
      ["gone@acme.example", "bounced"],
    ]);
    expect(states[1].lastError).toBe("452 4.2.2 Mailbox full");
    expect(states[2].lastError).toBe("550 5.1.1 No such user here");
    expect(await hasBody(id)).toBe(true);

    const dsns = await getDb().dsn.findMany({ where: { messageId: id }, select: { rcptTo: true, state: true, reason: true, raw: true } });
    expect(dsns).toHaveLength(1);
    expect(dsns[0]).toMatchObject({ rcptTo: "author@origin.example", state: "held", reason: "bounced" });
    const { mail, status, originalHeaders } = await parseDsn(dsns[0].raw);
    expect(mail.headers.get("content-type")).toMatchObject({ value: "multipart/report", params: { "report-type": "delivery-status" } });
    expect(mail.to).toMatchObject({ value: [{ address: "author@origin.example" }] });
    expect(originalHeaders).toContain("Subject: mixed outcomes");
    expect(status).toContain("Final-Recipient: rfc822; gone@acme.example");
    expect(status).toContain("Action: failed");
    expect(status).toContain("Status: 5.1.1");
    expect(status).toContain("Diagnostic-Code: smtp; 550 5.1.1 No such user here");
    expect(status).toContain("Remote-MTA: dns; customer.test.example");
    expect(status).not.toContain("ok@acme.example");

    // the deferred recipient goes at the next ATRN, and then the bytes go
    const again = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await again.atrn(["acme.example"])).code).toBe(250);
    const second = await startSmtpReceiver({}, { listen: false });
    await again.serveWith(second);
    expect(second.messages.map((m) => m.rcptTo)).toContainEqual(["full@acme.example"]);
    expect((await deliveryStates(id)).map((d) => d.state)).toEqual(["delivered", "delivered", "bounced"]);
    expect(await hasBody(id)).toBe(false);
  });

  it("bounces every recipient when the final dot gets 5yz, with no DSN to the null sender", async () => {
    const withSender = await holdMessage(
      [
        { address: "p1@acme.example", customer: acme },
        { address: "p2@acme.example", customer: acme },
      ],
      testMessage("refused content"),
    );
    const nullSender = await holdMessage([{ address: "p3@acme.example", customer: acme }], testMessage("refused bounce"), "");
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await customer.atrn(["acme.example"])).code).toBe(250);
    const receiver = await startSmtpReceiver({ data: () => ({ code: 554, text: "5.7.1 Message rejected as spam" }) }, { listen: false });
    await customer.serveWith(receiver);
    expect((await deliveryStates(withSender)).map((d) => d.state)).toEqual(["bounced", "bounced"]);
    expect((await deliveryStates(nullSender)).map((d) => d.state)).toEqual(["bounced"]);
    expect(await getDb().dsn.count({ where: { messageId: withSender } })).toBe(1);
    expect(await getDb().dsn.count({ where: { messageId: nullSender } })).toBe(0);
    expect(await hasBody(withSender)).toBe(false);
  });

  it("leaves everything held, without DSN, when the customer closes after 250", async () => {
    const id = await holdMessage([{ address: "later@acme.example", customer: acme }], testMessage("not yet"));
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await customer.atrn(["acme.example"])).code).toBe(250);
    customer.end();
    await customer.closed;
    await expect
      .poll(async () => (await getDb().odmrSession.findFirst({ where: { loginName: acme.login }, orderBy: { startedAt: "desc" } }))?.endedAt)
      .not.toBeNull();
    const states = await deliveryStates(id);
    expect(states.map((d) => d.state)).toEqual(["queued"]);
    expect(states[0].attempts).toBe(0);
    expect(await getDb().dsn.count({ where: { messageId: id } })).toBe(0);
    const session = await getDb().odmrSession.findFirst({ where: { loginName: acme.login }, orderBy: { startedAt: "desc" } });
    expect(session!.outcome).toMatch(/closed the connection after 250/);
    // and it is delivered at the next ATRN
    const again = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await again.atrn(["acme.example"])).code).toBe(250);
    const receiver = await startSmtpReceiver({}, { listen: false });
    await again.serveWith(receiver);
    expect((await deliveryStates(id)).map((d) => d.state)).toEqual(["delivered"]);
  });

  it("never runs bytes pipelined after ATRN as commands", async () => {
    const id = await holdMessage([{ address: "piped@acme.example", customer: acme }], testMessage("pipelined"));
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    customer.write("ATRN acme.example\r\nQUIT\r\n");
    const reply = await customer.reply();
    expect(reply.code).toBe(421);
    await customer.closed;
    expect((await deliveryStates(id)).map((d) => d.state)).toEqual(["queued"]);
  });

  it("delivers a message with recipients at two customers to each with only its own recipients", async () => {
    const raw = testMessage("two customers");
    const id = await holdMessage(
      [
        { address: "a1@acme.example", customer: acme },
        { address: "b1@beta.example", customer: beta },
        { address: "a2@acme-two.example", customer: acme },
      ],
      raw,
    );
    const forAcme = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    expect((await forAcme.atrn()).code).toBe(250);
    const acmeReceiver = await startSmtpReceiver({}, { listen: false });
    await forAcme.serveWith(acmeReceiver);
    expect(acmeReceiver.messages.find((m) => m.raw.equals(raw))!.rcptTo.sort()).toEqual(["a1@acme.example", "a2@acme-two.example"]);
    expect(await hasBody(id)).toBe(true);
    const forBeta = await loggedInCustomer(mailer.odmrPort, beta.login, beta.secret);
    expect((await forBeta.atrn(["beta.example"])).code).toBe(250);
    const betaReceiver = await startSmtpReceiver({}, { listen: false });
    await forBeta.serveWith(betaReceiver);
    expect(betaReceiver.messages.map((m) => m.rcptTo)).toEqual([["b1@beta.example"]]);
    expect((await deliveryStates(id)).every((d) => d.state === "delivered")).toBe(true);
    expect(await hasBody(id)).toBe(false);
  });

  it("refuses ATRN beyond the per-login rate with 450", async () => {
    const rated = await makeCustomer("Rated", ["rated.example"]);
    const customer = await loggedInCustomer(mailer.odmrPort, rated.login, rated.secret);
    const codes: number[] = [];
    for (let i = 0; i < 52; i++) codes.push((await customer.atrn(["rated.example"])).code);
    expect(codes.slice(0, 50).every((c) => c === 453)).toBe(true);
    expect(codes.slice(50)).toEqual([450, 450]);
  });

  it("refuses a suspended customer: its AUTH fails, and ATRN after a suspension releases nothing", async () => {
    const gamma = await makeCustomer("Gamma", ["gamma.example"]);
    const id = await holdMessage([{ address: "g@gamma.example", customer: gamma }], testMessage("suspended"));
    const customer = await loggedInCustomer(mailer.odmrPort, gamma.login, gamma.secret);
    await setCustomerStatus(CLI_ACTOR, gamma.id, "suspended");
    expect((await customer.atrn(["gamma.example"])).code).toBe(450);
    expect((await customer.atrn()).code).toBe(453);
    const refused = await OdmrCustomer.connect(mailer.odmrPort);
    await refused.ehlo();
    expect((await refused.authCramMd5(gamma.login, gamma.secret)).code).toBe(535);
    expect((await deliveryStates(id)).map((d) => d.state)).toEqual(["queued"]);
  });

  it("refuses a rotated-out secret and a disabled login with 535, and a domain the login is restricted away from with 450", async () => {
    const eps = await makeCustomer("Epsilon", ["eps.example", "eps-two.example"]);
    await restrictLogin(CLI_ACTOR, eps.login, ["eps.example"]);
    const restricted = await loggedInCustomer(mailer.odmrPort, eps.login, eps.secret);
    expect((await restricted.atrn(["eps-two.example"])).code).toBe(450);
    expect((await restricted.atrn(["eps.example"])).code).toBe(453);
    restricted.end();
    const { secret } = await rotateLogin(CLI_ACTOR, eps.login, { keepOldHours: 0 });
    const rotated = await OdmrCustomer.connect(mailer.odmrPort, { localAddress: "127.0.0.5" });
    await rotated.ehlo();
    expect((await rotated.authCramMd5(eps.login, eps.secret)).code).toBe(535);
    expect((await rotated.authCramMd5(eps.login, secret)).code).toBe(235);
    rotated.end();
    await setLoginStatus(CLI_ACTOR, eps.login, "disabled");
    const disabled = await OdmrCustomer.connect(mailer.odmrPort, { localAddress: "127.0.0.6" });
    await disabled.ehlo();
    expect((await disabled.authCramMd5(eps.login, secret)).code).toBe(535);
    disabled.end();
  });

  it("slows down and locks out an address that keeps failing AUTH, while the right secret from elsewhere works", async () => {
    const delta = await makeCustomer("Delta", ["delta.example"]);
    // addresses of their own, so that no other test's failures count here
    const attacker = await OdmrCustomer.connect(mailer.odmrPort, { localAddress: "127.0.0.3" });
    await attacker.ehlo();
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await attacker.authCramMd5(delta.login, "wrong-secret")).code);
    expect(codes.slice(0, 5)).toEqual([535, 535, 535, 535, 535]);
    expect(codes[5]).toBe(454);
    // locked: even the right secret from that address is refused for now
    expect((await attacker.authCramMd5(delta.login, delta.secret)).code).toBe(454);
    const elsewhere = await OdmrCustomer.connect(mailer.odmrPort, { localAddress: "127.0.0.4" });
    await elsewhere.ehlo();
    expect((await elsewhere.authCramMd5(delta.login, delta.secret)).code).toBe(235);
    const login = await getDb().odmrLogin.findUnique({ where: { id: delta.loginId } });
    expect(login!.lastUsedIp).toBe("127.0.0.4");
    expect(login!.lastUsedAt).not.toBeNull();
  });

  it("answers 451 when the database cannot answer, and releases nothing", async () => {
    const id = await holdMessage([{ address: "db@acme.example", customer: acme }], testMessage("database trouble"));
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    await getDb().$executeRawUnsafe("ALTER TABLE delivery RENAME TO delivery_away");
    try {
      const reply = await customer.atrn(["acme.example"]);
      expect(reply).toMatchObject({ code: 451, text: "Unable to process ATRN request now" });
    } finally {
      await getDb().$executeRawUnsafe("ALTER TABLE delivery_away RENAME TO delivery");
    }
    expect((await deliveryStates(id)).map((d) => d.state)).toEqual(["queued"]);
    customer.end();
  });
});
