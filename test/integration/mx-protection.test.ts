// The MX protects itself: connection limits overall and per client address, the idle timeout,
// and beyond its limits a clear 421 4.3.2 and a closed connection rather than a stall.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/database.ts";
import { makeCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

useTestDatabase();

let mailer: MailerProcess;

beforeAll(async () => {
  await makeCustomer("Protected", ["protected.example"]);
  mailer = await startMailer({ MX_MAX_CONNECTIONS: "4", MX_MAX_CONNECTIONS_PER_IP: "2", MX_IDLE_TIMEOUT: "3" });
});

afterAll(async () => {
  await mailer?.stop();
});

/** Connects from a given loopback address and returns the first line the server sends, and whether it then closed. */
function firstLine(localAddress: string): Promise<{ line: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: mailer.mxPort, host: "127.0.0.1", localAddress });
    let buffer = "";
    socket.setEncoding("latin1");
    socket.on("error", reject);
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf("\r\n");
      if (nl >= 0) resolve({ line: buffer.slice(0, nl), socket });
    });
  });
}

describe("MX protection", () => {
  it("limits connections per client address, then overall, with 421 4.3.2 and a close", async () => {
    const held: SmtpDialog[] = [];
    held.push(await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.1" }));
    held.push(await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.1" }));
    const third = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.1" });
    expect(third.greeting.last).toMatch(/^421 4\.3\.2 mx\.test\.example Too many connections from your address/);
    await third.whenClosed();

    held.push(await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.2" }));
    held.push(await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.2" }));
    const fifth = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.3" });
    expect(fifth.greeting.last).toMatch(/^421 4\.3\.2 mx\.test\.example Too many connections/);
    await fifth.whenClosed();

    // the held sessions still work, and a slot freed is a slot available again
    for (const dialog of held) expect((await dialog.command("NOOP")).code).toBe(250);
    held.pop()!.close();
    await sleep(200);
    const again = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.3" });
    expect(again.greeting.code).toBe(220);
    again.close();
    for (const dialog of held) dialog.close();
  });

  it("frees the slot of a session that ended inside TLS", async () => {
    await sleep(200);
    for (let i = 0; i < 3; i++) {
      const dialog = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.8" });
      expect(dialog.greeting.code).toBe(220);
      await dialog.command("EHLO client.example");
      await dialog.startTls();
      expect((await dialog.command("EHLO client.example")).code).toBe(250);
      expect((await dialog.command("QUIT")).code).toBe(221);
      await dialog.whenClosed();
      await sleep(100);
    }
    // and of one that hung up in the middle of the handshake
    for (let i = 0; i < 3; i++) {
      const dialog = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.8" });
      await dialog.command("EHLO client.example");
      expect((await dialog.command("STARTTLS")).code).toBe(220);
      dialog.write("\x16\x03\x01 not a client hello");
      dialog.close();
      await sleep(100);
    }
    const last = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.8" });
    expect(last.greeting.code).toBe(220);
    last.close();
  });

  it("answers every one of a flood of connections at once, beyond the limit with 421", async () => {
    await sleep(200);
    const attempts = await Promise.all(Array.from({ length: 40 }, (_, i) => firstLine(`127.0.1.${(i % 20) + 1}`)));
    const lines = attempts.map((a) => a.line);
    for (const a of attempts) a.socket.destroy();
    expect(lines.every((l) => /^220 /.test(l) || /^421 4\.3\.2 /.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith("220")).length).toBeLessThanOrEqual(4);
    expect(lines.filter((l) => l.startsWith("421")).length).toBeGreaterThanOrEqual(36);
  });

  it("closes an idle session after the timeout with 421", async () => {
    await sleep(200);
    const dialog = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.4" });
    expect(dialog.greeting.code).toBe(220);
    const reply = await dialog.reply(10_000);
    expect(reply.last).toMatch(/^421 4\.4\.2 /);
    await dialog.whenClosed();
  });

  it("on shutdown finishes a message in flight and tells the other sessions 421 4.3.2", async () => {
    const idle = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.5" });
    await idle.command("EHLO client.example");
    const busy = await SmtpDialog.open(mailer.mxPort, { localAddress: "127.0.0.6" });
    await busy.command("EHLO client.example");
    await busy.command("MAIL FROM:<s@example.org>");
    await busy.command("RCPT TO:<u@protected.example>");
    expect((await busy.command("DATA")).code).toBe(354);
    busy.write("Subject: in flight\r\n\r\nfirst half\r\n");
    const stopped = mailer.stop();
    expect((await idle.reply()).last).toMatch(/^421 4\.3\.2 /);
    await idle.whenClosed();
    busy.write("second half\r\n.\r\n");
    expect((await busy.reply()).last).toMatch(/^250 2\.0\.0 Ok: queued as /);
    expect((await busy.command("MAIL FROM:<s@example.org>")).last).toMatch(/^421 4\.3\.2 /);
    expect(await stopped).toBe(0);
  });
});
