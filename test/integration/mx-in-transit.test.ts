// Messages in transit on the MX: one client address gets only a share of the in-transit memory
// (MX_MEMORY_PER_IP_MB), so it cannot make other senders get 452, and the whole DATA transfer has
// a deadline (MX_DATA_TIMEOUT) that a client trickling its message cannot extend.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

useTestDatabase();

const DATA_TIMEOUT = 2;
let mailer: MailerProcess;

beforeAll(async () => {
  const customer = await createCustomer(CLI_ACTOR, { name: "Transit" });
  await createDomain(CLI_ACTOR, { customer: customer.id, name: "transit.example", recipientPolicy: "accept_all", maxMessageSize: 30 * 1024 * 1024 });
  mailer = await startMailer({ MX_DATA_TIMEOUT: String(DATA_TIMEOUT) });
});

afterAll(async () => {
  await mailer?.stop();
});

/** EHLO, MAIL, RCPT and DATA from `localAddress`, up to the 354. */
async function inData(localAddress: string): Promise<SmtpDialog> {
  const dialog = await SmtpDialog.open(mailer.mxPort, { localAddress });
  expect((await dialog.command("EHLO client.example")).code).toBe(250);
  expect((await dialog.command("MAIL FROM:<s@client.example>")).code).toBe(250);
  expect((await dialog.command("RCPT TO:<r@transit.example>")).code).toBe(250);
  expect((await dialog.command("DATA")).code).toBe(354);
  return dialog;
}

describe("MX in-transit memory and the DATA deadline", () => {
  it("keeps one address holding unfinished DATA on many connections from making another address get 452", async () => {
    // 11 x 24.4 MB leaves less of the 256 MiB budget than the next sender's message needs, as in the
    // report: without a per-address share that sender gets 452 4.3.1 until the hogs let go
    const line = Buffer.from("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijk\r\n");
    const chunk = Buffer.concat(Array.from({ length: Math.floor(24_400_000 / line.length) }, () => line));
    const hogs: net.Socket[] = [];
    try {
      const dialogs = await Promise.all(Array.from({ length: 11 }, () => inData("127.0.0.2")));
      await Promise.all(
        dialogs.map((d) => {
          const socket = (d as unknown as { socket: net.Socket }).socket;
          hogs.push(socket);
          return new Promise<void>((resolve, reject) => socket.write(chunk, (err) => (err ? reject(err) : resolve())));
        }),
      );
      // everything was handed to the kernel; give the mailer a moment to read the rest of it
      await sleep(1500);
      const other = await inData("127.0.0.3");
      other.write(`Subject: other sender\r\n\r\n${"x".repeat(70)}\r\n`.repeat(1000) + ".\r\n");
      const reply = await other.reply(30_000);
      expect(reply.last).toMatch(/^250 2\.0\.0 Ok: queued as /);
      other.close();
    } finally {
      for (const socket of hogs) socket.destroy();
    }
  }, 120_000);

  it("answers 451 4.4.2 and closes when DATA trickles past MX_DATA_TIMEOUT", async () => {
    const dialog = await inData("127.0.0.4");
    const started = Date.now();
    // one byte every 200 ms: each restarts the idle timeout (MX_IDLE_TIMEOUT, 300 s), none the deadline
    const trickle = setInterval(() => dialog.write("x"), 200);
    try {
      const reply = await dialog.reply(15_000);
      expect(reply.last).toMatch(/^451 4\.4\.2 /);
      await dialog.whenClosed();
      expect(Date.now() - started).toBeGreaterThanOrEqual(DATA_TIMEOUT * 1000 - 100);
      expect(Date.now() - started).toBeLessThan(DATA_TIMEOUT * 1000 + 3000);
    } finally {
      clearInterval(trickle);
    }
    await mailer.waitForLog((l) => l.code === "MX_DATA_TIMEOUT");
  });
});
