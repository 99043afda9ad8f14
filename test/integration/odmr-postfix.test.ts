// Real peers on both sides of the turned-around connection: real fetchmail relays our ATRN
// session into a real Postfix smtpd, which offers PIPELINING and CHUNKING. So the drain goes out
// as BDAT with several transactions in flight (ODMR_WINDOW), each after the first led by
// RSET; Postfix must take every message with its own envelope, and its refusals (a recipient at
// RCPT, a message at the end of its data) must come back as bounces.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { freePort } from "../../lib/system/free-port.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { runFetchmail } from "../helpers/fetchmail.ts";
import { holdMessage, makeCustomer, testMessage } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { PostfixReceiver, postfixUnavailable } from "../helpers/postfix-receiver.ts";

useTestDatabase();

const unavailable = postfixUnavailable();

describe.skipIf(unavailable !== null)(`fetchmail into a real Postfix smtpd with CHUNKING${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let mailer: MailerProcess;
  let postfix: PostfixReceiver;

  beforeAll(async () => {
    mailer = await startMailer({ ODMR_WINDOW: "4" });
    postfix = new PostfixReceiver({
      host: "127.0.0.1",
      port: await freePort(),
      domains: ["postfix.example"],
      refuseRecipients: ["gone@postfix.example"],
      refuseSubject: "refuse me",
    });
    await postfix.start();
  }, 60_000);

  afterAll(async () => {
    postfix?.stop();
    await mailer?.stop();
  });

  it("delivers each message with its own envelope, and Postfix's refusals become bounces", async () => {
    const c = await makeCustomer("Postfixed", ["postfix.example"]);
    const refused = await holdMessage([{ address: "a@postfix.example", customer: c }], testMessage("refuse me"), "first@origin.example");
    const nobody = await holdMessage([{ address: "gone@postfix.example", customer: c }], testMessage("to nobody"), "second@origin.example");
    const taken: string[] = [];
    for (let i = 0; i < 10; i++) {
      taken.push(
        await holdMessage(
          [
            { address: `t${i}@postfix.example`, customer: c },
            { address: `u${i}@postfix.example`, customer: c },
          ],
          testMessage(`take ${i}`, `${"y".repeat(70)}\r\n`.repeat(60)),
          `take${i}@origin.example`,
        ),
      );
    }
    const run = await runFetchmail({ port: mailer.odmrPort, login: c.login, secret: c.secret, domains: ["postfix.example"], smtpPort: postfix.port });
    expect(run.code, run.output).toBe(0);

    const states = async (id: string) => (await getDb().delivery.findMany({ where: { messageId: id } })).map((d) => d.state);
    for (const id of taken) expect(await states(id)).toEqual(["delivered", "delivered"]);
    expect(await states(refused)).toEqual(["bounced"]);
    expect(await states(nobody)).toEqual(["bounced"]);
    const [content] = await getDb().delivery.findMany({ where: { messageId: refused } });
    expect(content.lastError).toMatch(/^550 5\.7\.1 .*content refused/);
    const [recipient] = await getDb().delivery.findMany({ where: { messageId: nobody } });
    expect(recipient.lastError).toMatch(/^554 5\.7\.1 .*no such user/);

    // what Postfix itself took: every recipient once, with its own message's sender
    await expect.poll(() => postfix.delivered().length, { timeout: 20_000 }).toBe(20);
    const expected = [...Array(10).keys()].flatMap((i) => [`t${i}`, `u${i}`].map((u) => ({ from: `take${i}@origin.example`, to: `${u}@postfix.example` })));
    expect(postfix.delivered().sort((a, b) => a.to.localeCompare(b.to))).toEqual(expected.sort((a, b) => a.to.localeCompare(b.to)));
    // and it saw nothing it counts as a client error
    expect(postfix.logLines(/improper command pipelining|errors? (after|from)|lost connection after/i)).toEqual([]);
  });
});
