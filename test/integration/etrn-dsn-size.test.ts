// A bounce of a message that has no empty line (all of it "header") over a real ETRN run: the DSN
// returns at most 64 KB of it, as the expiry path always did, instead of the whole message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { HEADER_BYTES } from "../../lib/dsn/build-dsn.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";
import { startSmtpReceiver, type SmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

let mailer: MailerProcess;
let refusing: SmtpReceiver;

beforeAll(async () => {
  refusing = await startSmtpReceiver({ data: () => ({ code: 550, text: "5.6.0 headers too large" }) });
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
  await refusing?.close();
});

describe("a DSN for a message without an empty line", () => {
  it("returns at most 64 KB of a 5 MB message", async () => {
    const customer = await makeCustomer("Bulky", ["bulky.example"]);
    await updateDomain(CLI_ACTOR, "bulky.example", { etrnEnabled: true, etrnTarget: `127.0.0.1:${refusing.port}`, etrnTls: "none" });
    const line = "X-Filler: " + "b".repeat(88) + "\r\n";
    const raw = Buffer.from(`From: s@origin.example\r\nSubject: all header\r\n${line.repeat(50_000)}`);
    const messageId = await holdMessage([{ address: "u@bulky.example", customer }], raw, "s@origin.example");
    const dialog = await SmtpDialog.open(mailer.mxPort);
    expect((await dialog.command("EHLO client.example")).code).toBe(250);
    expect((await dialog.authCramMd5(customer.login, customer.secret)).code).toBe(235);
    expect((await dialog.command("ETRN bulky.example")).code).toBe(253);
    dialog.close();
    await expect.poll(async () => getDb().dsn.findFirst({ where: { messageId } }), { timeout: 20_000 }).toBeTruthy();
    const dsn = (await getDb().dsn.findFirst({ where: { messageId }, select: { raw: true } }))!;
    console.log(`DSN for a ${raw.length}-byte message without an empty line: ${dsn.raw.length} bytes`);
    expect(raw.length).toBeGreaterThan(5_000_000);
    expect(dsn.raw.length).toBeLessThan(HEADER_BYTES + 4096);
    expect(Buffer.from(dsn.raw).toString("latin1")).toContain("Subject: all header");
  }, 60_000);
});
