// The MX greeting: sent at once by default (smtp-server's fixed 100 ms early-talker wait is gone),
// and with MX_GREETING_DELAY_MS a pregreet test as in Postfix's postscreen: a client that talks
// before the 220 (RFC 5321 §3.1) gets 554 5.5.1 and is disconnected; a polite one gets 220 after the delay.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/database.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";

useTestDatabase();

const DELAY_MS = 400;
let prompt: MailerProcess;
let delayed: MailerProcess;

beforeAll(async () => {
  [prompt, delayed] = await Promise.all([startMailer(), startMailer({ MX_GREETING_DELAY_MS: String(DELAY_MS) })]);
});

afterAll(async () => {
  await Promise.all([prompt?.stop(), delayed?.stop()]);
});

interface Seen {
  /** ms from connect to the first complete line */
  firstLineMs: number;
  text: string;
  closed: boolean;
}

/** Connects, optionally writes `early` the moment the TCP connection is up, and records what the server sends until it closes or `waitMs` passes. */
function talk(port: number, early: string | null, waitMs: number): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let text = "";
    let connectedAt = 0;
    let firstLineMs = -1;
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ firstLineMs, text, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.setEncoding("latin1");
    socket.on("connect", () => {
      connectedAt = Date.now();
      if (early !== null) socket.write(early);
    });
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (firstLineMs < 0 && text.includes("\r\n")) {
        firstLineMs = Date.now() - connectedAt;
        // a client that waited has what it came for; one that talked first waits to see the close
        if (early === null) finish(false);
      }
    });
    socket.on("end", () => finish(true));
    socket.on("error", (err) => (text ? finish(true) : reject(err)));
  });
}

describe("MX greeting", () => {
  it("greets at once without MX_GREETING_DELAY_MS", async () => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const seen = await talk(prompt.mxPort, null, 2000);
      expect(seen.text).toMatch(/^220 mx\.test\.example ESMTP/);
      times.push(seen.firstLineMs);
    }
    // smtp-server alone holds every greeting for 100 ms, so not one would come sooner; the
    // fastest of ten, so that a busy machine's slow scheduling does not decide it
    expect(Math.min(...times)).toBeLessThan(95);
  });

  it("answers a client that talks before the greeting with 554 5.5.1 and closes", async () => {
    const seen = await talk(delayed.mxPort, "EHLO bot.example\r\nMAIL FROM:<a@bot.example>\r\n", 5000);
    expect(seen.text).toMatch(/^554 5\.5\.1 Error: you talked before the greeting\r\n$/);
    expect(seen.closed).toBe(true);
    // no 220 and no reply to the pipelined commands: the connection ends with the one line
    expect(seen.firstLineMs).toBeLessThan(DELAY_MS);
    await delayed.waitForLog((l) => l.code === "MX_PREGREET");
  });

  it("counts even a partial line sent before the greeting", async () => {
    const seen = await talk(delayed.mxPort, "EH", 5000);
    expect(seen.text).toMatch(/^554 5\.5\.1 /);
    expect(seen.closed).toBe(true);
  });

  it("greets a client that waits, after the delay, and serves it", async () => {
    const socket = net.connect({ port: delayed.mxPort, host: "127.0.0.1" });
    socket.setEncoding("latin1");
    const started = Date.now();
    let text = "";
    const until = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${JSON.stringify(text)}`)), 5000);
        const check = () => {
          if (pattern.test(text)) {
            clearTimeout(timer);
            socket.off("data", onData);
            resolve();
          }
        };
        const onData = (chunk: string) => {
          text += chunk;
          check();
        };
        socket.on("data", onData);
        check();
      });
    await until(/^220 .*\r\n/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DELAY_MS - 20);
    socket.write("EHLO polite.example\r\n");
    await until(/\r\n250 [^\r\n]*\r\n$/);
    socket.write("QUIT\r\n");
    await until(/\r\n221 /);
    socket.destroy();
  });
});
