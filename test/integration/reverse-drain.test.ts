// The reversed session against a hand-written customer server: it never writes twice without a
// reply in between (the dot and the next envelope arrive in one read), it uses BDAT when
// CHUNKING is offered (RFC 3030), honours LIMITS (RFC 9422: RCPTMAX splits, MAILMAX ends the
// session with the rest held for the next ATRN), copes with replies that arrive split, keeps
// each 354 from waiting for a delayed ACK through a TLS relay that forwards record by record, and
// its leases belong to the session: after a staff "release lease" and a claim by another session of
// the same mailer, the first session's late result is not recorded over the second's claim.
import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { releaseMessageLease } from "../../lib/queue/queue-actions.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer } from "../helpers/odmr-customer.ts";
import { readsWithoutReply, scriptedReceiver, type ScriptedOptions, type ScriptedReceiver } from "../helpers/scripted-receiver.ts";
import { sleep } from "../helpers/sleep.ts";
import { startSmtpReceiver } from "../helpers/smtp-receiver.ts";

const env = useTestDatabase();

const BODY_4K = `${"x".repeat(78)}\r\n`.repeat(50);

function signal(): [Promise<void>, () => void] {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return [fired, fire];
}

async function statesOf(messageId: string) {
  const rows = await getDb().delivery.findMany({ where: { messageId }, orderBy: { recipient: "asc" } });
  return rows.map((r) => r.state);
}

describe("reversed session toward a scripted customer", () => {
  let mailer: MailerProcess;

  beforeAll(async () => {
    mailer = await startMailer();
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  async function drain(customer: TestCustomer, domain: string, options: ScriptedOptions): Promise<ScriptedReceiver> {
    const odmr = await loggedInCustomer(mailer.odmrPort, customer.login, customer.secret);
    expect((await odmr.atrn([domain])).code).toBe(250);
    const receiver = scriptedReceiver(options);
    await odmr.serveWith(receiver);
    return receiver;
  }

  it("with PIPELINING, sends each message's dot and the next envelope in the same write as its body", async () => {
    const c = await makeCustomer("Onewrite", ["onewrite.example"]);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await holdMessage([{ address: `u${i}@onewrite.example`, customer: c }], testMessage(`one ${i}`, BODY_4K)));
    const receiver = await drain(c, "onewrite.example", { extensions: ["PIPELINING", "8BITMIME"] });
    expect(receiver.messages).toHaveLength(8);
    // every read came after a reply: the provider never wrote twice while waiting
    expect(readsWithoutReply(receiver.reads).map((r) => r.text.slice(0, 60))).toEqual([]);
    // and the body, its dot and the next MAIL/RCPT/DATA travelled in one read
    expect(receiver.reads.filter((r) => /\r\n\.\r\nMAIL FROM:<[^>]*>\r\nRCPT TO:<[^>]*>\r\nDATA\r\n$/.test(r.text))).toHaveLength(7);
    for (const id of ids) expect(await statesOf(id)).toEqual(["delivered"]);
  });

  it("without PIPELINING, still one write per reply wait: the body and its dot go together", async () => {
    const c = await makeCustomer("Nopipe", ["nopipe.example"]);
    for (let i = 0; i < 4; i++) await holdMessage([{ address: `u${i}@nopipe.example`, customer: c }], testMessage(`np ${i}`, BODY_4K));
    const receiver = await drain(c, "nopipe.example", { extensions: ["8BITMIME"] });
    expect(receiver.messages).toHaveLength(4);
    expect(readsWithoutReply(receiver.reads)).toEqual([]);
    expect(receiver.commands.filter((l) => l.startsWith("MAIL"))).toHaveLength(4);
  });

  it("uses BDAT with CHUNKING + PIPELINING, splits at RCPTMAX and stops at MAILMAX, the rest delivered at the next ATRN", async () => {
    const c = await makeCustomer("Chunky", ["chunky.example"]);
    const big = testMessage("three recipients", BODY_4K);
    const a = await holdMessage(
      ["r1", "r2", "r3"].map((u) => ({ address: `${u}@chunky.example`, customer: c })),
      big,
    );
    const bRaw = testMessage("second .dotted", `.leading dot stays as is\r\n${BODY_4K}`);
    const b = await holdMessage([{ address: "s1@chunky.example", customer: c }], bRaw);
    const cId = await holdMessage([{ address: "t1@chunky.example", customer: c }], testMessage("third"));
    const options = { extensions: ["PIPELINING", "CHUNKING", "LIMITS MAILMAX=3 RCPTMAX=2", ""] };
    const first = await drain(c, "chunky.example", options);
    // the transactions go out without waiting for each other (ODMR_WINDOW), so each one
    // after the first starts with RSET
    expect(first.commands.filter((l) => l !== "EHLO mx.test.example")).toEqual([
      "MAIL FROM:<sender@origin.example>",
      "RCPT TO:<r1@chunky.example>",
      "RCPT TO:<r2@chunky.example>",
      `BDAT ${big.length} LAST`,
      "RSET",
      "MAIL FROM:<sender@origin.example>",
      "RCPT TO:<r3@chunky.example>",
      `BDAT ${big.length} LAST`,
      "RSET",
      "MAIL FROM:<sender@origin.example>",
      "RCPT TO:<s1@chunky.example>",
      `BDAT ${bRaw.length} LAST`,
      "QUIT",
    ]);
    // not dot-stuffed: BDAT carries the bytes as they are
    expect(first.messages[2].raw.equals(bRaw)).toBe(true);
    // each transaction's MAIL, RCPT, BDAT and chunk in one read
    const transactionReads = first.reads.filter((r) => r.text.includes("MAIL FROM"));
    for (const read of transactionReads) expect(read.text.split("MAIL FROM").length - 1).toBe(read.text.split(" LAST\r\n").length - 1);
    expect(transactionReads.reduce((n, r) => n + r.text.split("MAIL FROM").length - 1, 0)).toBe(3);
    expect(await statesOf(a)).toEqual(["delivered", "delivered", "delivered"]);
    expect(await statesOf(b)).toEqual(["delivered"]);
    await expect.poll(() => statesOf(cId)).toEqual(["queued"]);
    await expect
      .poll(async () => (await getDb().odmrSession.findFirst({ where: { loginName: c.login, endedAt: { not: null } } }))?.outcome)
      .toMatch(/MAILMAX=3/);
    expect(await getDb().messageBody.count({ where: { messageId: a } })).toBe(0);

    const second = await drain(c, "chunky.example", options);
    expect(second.messages.map((m) => m.rcptTo)).toEqual([["t1@chunky.example"]]);
    expect(await statesOf(cId)).toEqual(["delivered"]);
  });

  it("with PIPELINING, sends final dots while earlier results wait to be committed, up to ODMR_WINDOW messages and no further", async () => {
    const WINDOW = 8; // the default
    const c = await makeCustomer("Overlap", ["overlap.example"]);
    const ids: string[] = [];
    for (let i = 0; i < WINDOW + 3; i++) ids.push(await holdMessage([{ address: `u${i}@overlap.example`, customer: c }], testMessage(`overlap ${i}`, BODY_4K)));
    // the second message's result cannot commit while another transaction holds its bytes' row
    const blocker = new pg.Client({ connectionString: env.url });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT 1 FROM message_body WHERE message_id = $1 FOR UPDATE", [ids[1]]);
      const odmr = await loggedInCustomer(mailer.odmrPort, c.login, c.secret);
      expect((await odmr.atrn(["overlap.example"])).code).toBe(250);
      const receiver = scriptedReceiver({ extensions: ["PIPELINING", "8BITMIME"] });
      const served = odmr.serveWith(receiver);
      // the messages after the second go out while its result waits, until WINDOW of them wait
      // (the first one's result may be committed with the second's, then it waits too)
      await receiver.waitForMessages(WINDOW);
      await sleep(500);
      const states = await Promise.all(ids.map(statesOf));
      const recorded = states.filter((st) => st[0] === "delivered").length;
      expect(recorded).toBeLessThanOrEqual(1);
      expect(receiver.messages).toHaveLength(WINDOW + recorded);
      // the next one's envelope went out with the last dot, and its own dot waits
      expect(receiver.commands.filter((l) => l === "DATA")).toHaveLength(WINDOW + recorded + 1);
      expect(states.slice(recorded, WINDOW + recorded + 1).every((st) => st[0] === "delivering")).toBe(true);
      await blocker.query("ROLLBACK");
      await served;
      expect(receiver.messages).toHaveLength(WINDOW + 3);
      for (const id of ids) expect(await statesOf(id)).toEqual(["delivered"]);
      // the results that waited behind the blocked one were committed together, in one statement
      // (its now() is their delivered_at): the waiting window holds two commits' worth
      const waited = await getDb().delivery.findMany({ where: { messageId: { in: ids.slice(recorded, WINDOW + recorded) } }, select: { deliveredAt: true } });
      expect(new Set(waited.map((d) => d.deliveredAt!.getTime())).size).toBe(2);
      // the session counts every message's bytes, though the window keeps none of a delivered one's
      const sizes = await getDb().message.findMany({ where: { id: { in: ids } }, select: { size: true } });
      await expect
        .poll(async () => (await getDb().odmrSession.findFirst({ where: { loginName: c.login, endedAt: { not: null } } }))?.bytesDelivered)
        .toBe(BigInt(sizes.reduce((n, m) => n + m.size, 0)));
    } finally {
      await blocker.end();
    }
  });

  it("with CHUNKING + PIPELINING, keeps ODMR_WINDOW transactions in flight over a long round trip, no more", async () => {
    const c = await makeCustomer("Window", ["window.example"]);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await holdMessage([{ address: `u${i}@window.example`, customer: c }], testMessage(`window ${i}`, BODY_4K)));
    // the customer answers nothing for 500 ms after the first BDAT
    const receiver = await drain(c, "window.example", { extensions: ["PIPELINING", "CHUNKING"], holdFirstBdatMs: 500 });
    // what arrived before any reply after the EHLO reply (the greeting and EHLO are two writes)
    const unanswered = receiver.reads
      .filter((r) => r.repliesBefore === 2)
      .map((r) => r.text)
      .join("");
    expect(unanswered.split(" LAST\r\n").length - 1).toBe(8);
    expect(receiver.messages).toHaveLength(20);
    expect(receiver.commands.filter((l) => l === "RSET")).toHaveLength(19);
    for (const id of ids) expect(await statesOf(id)).toEqual(["delivered"]);
  });

  it.each([
    ["CHUNKING", ["PIPELINING", "CHUNKING"]],
    ["DATA", ["PIPELINING"]],
  ])("with %s, no reply waits for a delayed ACK from a server that answers each envelope apart from its data, without TCP_NODELAY", async (_, extensions) => {
    const c = await makeCustomer(`Nagle ${extensions.length}`, [`nagle${extensions.length}.example`]);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push(await holdMessage([{ address: `u${i}@nagle${extensions.length}.example`, customer: c }], testMessage(`nagle ${i}`, BODY_4K)));
    const receiver = await drain(c, `nagle${extensions.length}.example`, { extensions, nagleAckMs: 300 });
    expect(receiver.messages).toHaveLength(20);
    expect(receiver.delayedAcks).toBe(0);
    for (const id of ids) expect(await statesOf(id)).toEqual(["delivered"]);
  });

  it("a refused BDAT inside the window leaves no open transaction behind: the next ones are not refused as nested", async () => {
    const c = await makeCustomer("Strict", ["strict.example"]);
    const refused = await holdMessage([{ address: "a@strict.example", customer: c }], testMessage("refuse me"), "first@origin.example");
    const nobody = await holdMessage([{ address: "gone@strict.example", customer: c }], testMessage("no recipient"), "second@origin.example");
    const taken = [];
    for (let i = 0; i < 4; i++)
      taken.push(await holdMessage([{ address: `t${i}@strict.example`, customer: c }], testMessage(`take ${i}`), `take${i}@origin.example`));
    const receiver = await drain(c, "strict.example", {
      extensions: ["PIPELINING", "CHUNKING"],
      strictTransactions: true,
      final: (m) => (m.raw.includes("refuse me") ? "554 5.7.1 content refused" : "250 2.0.0 ok"),
      rcpt: (address) => (address.startsWith("gone@") ? "550 5.1.1 no such user" : "250 2.1.5 ok"),
    });
    // each message arrived with its own envelope sender
    expect(receiver.messages.map((m) => [m.mailFrom, m.rcptTo])).toEqual([0, 1, 2, 3].map((i) => [`take${i}@origin.example`, [`t${i}@strict.example`]]));
    expect(await statesOf(refused)).toEqual(["bounced"]);
    expect(await statesOf(nobody)).toEqual(["bounced"]);
    for (const id of taken) expect(await statesOf(id)).toEqual(["delivered"]);
    const [bounce] = await getDb().delivery.findMany({ where: { messageId: refused } });
    expect(bounce.lastError).toBe("554 5.7.1 content refused");
  });

  it("with CHUNKING without PIPELINING, waits for RCPT, and a refused BDAT fails the transaction and is followed by RSET", async () => {
    const c = await makeCustomer("Refbdat", ["refbdat.example"]);
    const raw = testMessage("refuse me");
    const kept = await holdMessage([{ address: "k@refbdat.example", customer: c }], raw);
    const taken = await holdMessage([{ address: "t@refbdat.example", customer: c }], testMessage("take me"));
    const receiver = await drain(c, "refbdat.example", {
      extensions: ["CHUNKING"],
      final: (m) => (m.raw.includes("refuse me") ? "451 4.3.0 try later" : "250 2.0.0 ok"),
    });
    expect(receiver.commands.slice(1, 5)).toEqual(["MAIL FROM:<sender@origin.example>", "RCPT TO:<k@refbdat.example>", `BDAT ${raw.length} LAST`, "RSET"]);
    expect(readsWithoutReply(receiver.reads)).toEqual([]);
    const [held] = await getDb().delivery.findMany({ where: { messageId: kept } });
    expect(held).toMatchObject({ state: "queued", lastError: "451 4.3.0 try later", attempts: 1 });
    expect(await statesOf(taken)).toEqual(["delivered"]);
  });

  it("copes with a peer whose replies arrive one by one", async () => {
    const c = await makeCustomer("Splitter", ["splitter.example"]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        await holdMessage(
          [
            { address: `u${i}@splitter.example`, customer: c },
            { address: `v${i}@splitter.example`, customer: c },
          ],
          testMessage(`split ${i}`),
        ),
      );
    const receiver = await drain(c, "splitter.example", { extensions: ["PIPELINING"], splitRepliesMs: 5 });
    expect(receiver.messages).toHaveLength(5);
    for (const id of ids) expect(await statesOf(id)).toEqual(["delivered", "delivered"]);
  });

  // A customer that relays the TLS session as it decrypts it, one write per TLS record, with
  // Nagle left on (the default of any socket program). The last line of each of our writes is a
  // record of its own (reverse-session.ts, relayedTls), so its MTA answers a pipelined group in
  // two bursts, and the relay holds the second (the 354) until we acknowledge the first. Had our
  // last line left at once, it would be gone before that first burst came, our ACK of the burst
  // would be delayed (about 40 ms) and each message would wait that long for its 354.
  it("over implicit TLS, through a relay forwarding record by record without TCP_NODELAY, no 354 waits for a delayed ACK", async () => {
    const c = await makeCustomer("Recordrelay", ["recordrelay.example"]);
    for (let i = 0; i < 12; i++) await holdMessage([{ address: `u${i}@recordrelay.example`, customer: c }], testMessage(`rr ${i}`, BODY_4K));
    const odmr = await loggedInCustomer(mailer.odmrsPort, c.login, c.secret, { tls: true });
    expect((await odmr.atrn(["recordrelay.example"])).code).toBe(250);
    // an MTA a few ms away: its first burst of replies comes after our whole write has left
    const receiver = scriptedReceiver({ extensions: ["PIPELINING", "8BITMIME"], replyDelayMs: 3 });
    const mta = net.createServer((socket) => receiver.serve(socket));
    await new Promise<void>((resolve) => mta.listen(0, "127.0.0.1", resolve));
    /** ms from each 354 the relay passed on to the arrival of the data it asked for */
    const waits: number[] = [];
    let passed354: number | null = null;
    const relay: ScriptedReceiver = {
      ...receiver,
      serve(fromUs: net.Socket) {
        const toMta = net.connect((mta.address() as net.AddressInfo).port, "127.0.0.1");
        fromUs.on("data", (record: Buffer) => {
          if (passed354 !== null) waits.push(performance.now() - passed354);
          passed354 = null;
          toMta.write(record);
        });
        toMta.on("data", (replies: Buffer) => {
          if (/^354 /m.test(replies.toString("latin1"))) passed354 = performance.now();
          fromUs.write(replies);
        });
        toMta.on("close", () => fromUs.end());
        fromUs.on("close", () => toMta.end());
      },
    };
    try {
      await odmr.serveWith(relay);
    } finally {
      mta.close();
      await receiver.close();
    }
    expect(receiver.messages).toHaveLength(12);
    expect(waits).toHaveLength(12);
    const median = [...waits].sort((a, b) => a - b)[6];
    expect(median, waits.map((w) => w.toFixed(1)).join(" ")).toBeLessThan(20);
  });

  it("several sessions on one domain share its mail evenly: a slow session does not claim a whole batch", async () => {
    const c = await makeCustomer("Shared", ["shared.example"]);
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push(await holdMessage([{ address: `u${i}@shared.example`, customer: c }], testMessage(`shared ${i}`)));
    // each customer server takes 80 ms per message, like a customer across a slow link
    const receivers = await Promise.all([0, 1, 2, 3].map(() => startSmtpReceiver({ beforeReply: () => sleep(80) })));
    try {
      const sessions = await Promise.all(receivers.map(() => loggedInCustomer(mailer.odmrPort, c.login, c.secret)));
      for (const odmr of sessions) expect((await odmr.atrn(["shared.example"])).code).toBe(250);
      await Promise.all(sessions.map((odmr, i) => odmr.serveWith(receivers[i])));
      const counts = receivers.map((r) => r.messages.length);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
      // the default batch (200) would let the first session take all of them; claims that doubled
      // until the rate was known, each made as the one before began, gave 70, 70, 30, 30
      for (const n of counts) expect(n, counts.join(" ")).toBeGreaterThanOrEqual(33);
      for (const n of counts) expect(n, counts.join(" ")).toBeLessThanOrEqual(67);
      for (const id of ids) expect(await statesOf(id)).toEqual(["delivered"]);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
    }
  });

  it("leases belong to the session: after a staff release and another session's claim, the first session's late result is not recorded", async () => {
    const c = await makeCustomer("Leasing", ["leasing.example"]);
    const id = await holdMessage([{ address: "l@leasing.example", customer: c }], testMessage("contested"));
    const [firstReply, releaseFirst] = signal();
    const [secondReply, releaseSecond] = signal();
    const [firstGot, gotFirst] = signal();
    const [secondGot, gotSecond] = signal();

    const one = await loggedInCustomer(mailer.odmrPort, c.login, c.secret);
    expect((await one.atrn(["leasing.example"])).code).toBe(250);
    const refusing = await startSmtpReceiver(
      {
        beforeReply: async () => {
          gotFirst();
          await firstReply;
        },
        data: () => ({ code: 550, text: "5.7.1 refused late" }),
      },
      { listen: false },
    );
    const oneDone = one.serveWith(refusing);
    await firstGot;
    const [claimed] = await getDb().delivery.findMany({ where: { messageId: id } });
    expect(claimed.leaseOwner).toMatch(/\/[0-9a-f-]{36}$/);
    await releaseMessageLease(CLI_ACTOR, id);

    const two = await loggedInCustomer(mailer.odmrPort, c.login, c.secret);
    expect((await two.atrn(["leasing.example"])).code).toBe(250);
    const accepting = await startSmtpReceiver(
      {
        beforeReply: async () => {
          gotSecond();
          await secondReply;
        },
      },
      { listen: false },
    );
    const twoDone = two.serveWith(accepting);
    await secondGot;
    const [reclaimed] = await getDb().delivery.findMany({ where: { messageId: id } });
    expect(reclaimed.state).toBe("delivering");
    expect(reclaimed.leaseOwner).not.toBe(claimed.leaseOwner);

    releaseFirst();
    await oneDone;
    await mailer.waitForLog((l) => l.code === "ODMR_LEASE_LOST");
    const [afterFirst] = await getDb().delivery.findMany({ where: { messageId: id } });
    expect(afterFirst).toMatchObject({ state: "delivering", leaseOwner: reclaimed.leaseOwner });

    releaseSecond();
    await twoDone;
    expect(accepting.messages).toHaveLength(1);
    expect(await statesOf(id)).toEqual(["delivered"]);
    expect(await getDb().dsn.count({ where: { messageId: id } })).toBe(0);
  });
});
