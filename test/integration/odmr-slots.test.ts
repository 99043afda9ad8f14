// ODMR connection slots over real sockets against the real mailer: a per-address cap and one
// overall cap across both listeners (ODMR_PORT and ODMRS_PORT), both still counting a session
// after its turn-around; no session row for a connection refused at the door; and a pre-AUTH
// deadline that a client trickling bytes cannot extend.
import net from "node:net";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer, OdmrCustomer } from "../helpers/odmr-customer.ts";
import { sleep } from "../helpers/sleep.ts";

useTestDatabase();

const MAX = 20;
const PER_IP = 10;

interface Door {
  /** the first line the server sent; "" when it closed first (a refusal before an implicit TLS handshake) */
  first: string;
  socket: net.Socket;
  closed: Promise<void>;
}

/** Connects (in clear or with TLS from the first byte) and reads the first line: 220 admitted, 421 (or, before TLS, a close) refused. */
function knock(port: number, options: { tls?: boolean; localAddress: string }): Promise<Door> {
  return new Promise((resolve, reject) => {
    const socket: net.Socket = options.tls
      ? tls.connect({ port, host: "127.0.0.1", localAddress: options.localAddress, rejectUnauthorized: false } as tls.ConnectionOptions)
      : net.connect({ port, host: "127.0.0.1", localAddress: options.localAddress });
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    let buffer = "";
    const timer = setTimeout(() => reject(new Error("no first line in time")), 15_000);
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("latin1");
      const nl = buffer.indexOf("\r\n");
      if (nl >= 0) {
        clearTimeout(timer);
        socket.removeAllListeners("data");
        resolve({ first: buffer.slice(0, nl), socket, closed });
      }
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ first: buffer, socket, closed });
    });
  });
}

async function release(doors: { socket: net.Socket; closed: Promise<void> }[]): Promise<void> {
  for (const d of doors) d.socket.destroy();
  await Promise.all(doors.map((d) => d.closed));
  // the mailer sees the closes a moment later
  await sleep(300);
}

describe("ODMR connection slots", () => {
  let mailer: MailerProcess;
  let acme: TestCustomer;

  beforeAll(async () => {
    acme = await makeCustomer("Acme", ["acme.example"]);
    mailer = await startMailer({
      ODMR_MAX_CONNECTIONS: String(MAX),
      ODMR_MAX_CONNECTIONS_PER_IP: String(PER_IP),
      ATRN_RATE_PER_MINUTE: "50",
      ODMR_CLAIM_BATCH: "1",
      AUTH_DELAY_STEP_MS: "0",
    });
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  it("refuses the 11th connection from one address at once, on either listener, while another address still gets 220", async () => {
    const held = [
      ...(await Promise.all(Array.from({ length: 5 }, () => knock(mailer.odmrPort, { localAddress: "127.0.0.2" })))),
      ...(await Promise.all(Array.from({ length: 5 }, () => knock(mailer.odmrsPort, { tls: true, localAddress: "127.0.0.2" })))),
    ];
    expect(held.map((d) => d.first.slice(0, 3))).toEqual(Array(10).fill("220"));
    const plain = await knock(mailer.odmrPort, { localAddress: "127.0.0.2" });
    expect(plain.first).toMatch(/^421 .*Too many connections from your address/);
    await plain.closed;
    // on the implicit-TLS port the refusal comes before the handshake, so it is a close
    const secure = await knock(mailer.odmrsPort, { tls: true, localAddress: "127.0.0.2" });
    expect(secure.first).toBe("");
    const other = await knock(mailer.odmrPort, { localAddress: "127.0.0.3" });
    expect(other.first).toMatch(/^220 /);
    await release([...held, secure, other]);
    // the slots are given back when the connections are gone
    const again = await knock(mailer.odmrPort, { localAddress: "127.0.0.2" });
    expect(again.first).toMatch(/^220 /);
    await release([again]);
  });

  it("holds ODMR_MAX_CONNECTIONS across both listeners, and writes no session row for 200 connections refused at the door", async () => {
    const held: Door[] = [];
    for (let i = 0; i < MAX / PER_IP; i++) {
      held.push(...(await Promise.all(Array.from({ length: PER_IP / 2 }, () => knock(mailer.odmrPort, { localAddress: `127.0.1.${i + 1}` })))));
      held.push(...(await Promise.all(Array.from({ length: PER_IP / 2 }, () => knock(mailer.odmrsPort, { tls: true, localAddress: `127.0.1.${i + 1}` })))));
    }
    expect(held.every((d) => d.first.startsWith("220"))).toBe(true);
    // the sessions admitted have their rows; nothing refused from here on may add one
    await expect.poll(() => getDb().odmrSession.count({ where: { remoteAddress: { startsWith: "127.0.1." } } })).toBe(MAX);
    const rowsBefore = await getDb().odmrSession.count();
    const refusedLogs = () => mailer.logs.filter((l) => l.code === "ODMR_CONNECTION_LIMIT").length;
    const logsBefore = refusedLogs();
    const replies: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const doors = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          knock(i % 2 ? mailer.odmrsPort : mailer.odmrPort, { tls: i % 2 === 1, localAddress: `127.0.2.${batch * 20 + i + 1}` }),
        ),
      );
      replies.push(...doors.map((d) => d.first));
      await Promise.all(doors.map((d) => d.closed));
    }
    expect(replies).toHaveLength(200);
    expect(replies.filter((r, i) => i % 2 === 0).every((r) => /^421 .*Too many connections, try again later/.test(r))).toBe(true);
    expect(replies.filter((r, i) => i % 2 === 1).every((r) => r === "")).toBe(true);
    await sleep(500);
    expect(await getDb().odmrSession.count()).toBe(rowsBefore);
    expect(refusedLogs() - logsBefore).toBe(200);
    await release(held);
  });

  it("counts a connection on the implicit-TLS port from accept, before its handshake", async () => {
    // TCP connections to ODMRS_PORT that never start TLS
    const silent = await Promise.all(
      Array.from(
        { length: PER_IP },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const socket = net.connect({ port: mailer.odmrsPort, host: "127.0.0.1", localAddress: "127.0.0.6" }, () => resolve(socket));
            socket.once("error", reject);
          }),
      ),
    );
    await sleep(200);
    expect((await knock(mailer.odmrsPort, { tls: true, localAddress: "127.0.0.6" })).first).toBe("");
    expect((await knock(mailer.odmrPort, { localAddress: "127.0.0.6" })).first).toMatch(/^421 .*from your address/);
    const other = await knock(mailer.odmrsPort, { tls: true, localAddress: "127.0.0.16" });
    expect(other.first).toMatch(/^220 /);
    await release([
      ...silent.map((socket) => ({ socket, closed: new Promise<void>((r) => (socket.destroyed ? r() : socket.once("close", () => r()))) })),
      other,
    ]);
  });

  it("keeps counting sessions after the turn-around, per address and overall", async () => {
    for (let i = 0; i < PER_IP; i++) await holdMessage([{ address: `r${i}@acme.example`, customer: acme }], testMessage(`slot ${i}`));
    const reversed: OdmrCustomer[] = [];
    for (let i = 0; i < PER_IP; i++) {
      const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret, { localAddress: "127.0.0.7" });
      expect((await customer.atrn(["acme.example"])).code).toBe(250);
      // turned around: the mailer now waits for this customer's 220, which never comes
      reversed.push(customer);
    }
    const eleventh = await knock(mailer.odmrPort, { localAddress: "127.0.0.7" });
    expect(eleventh.first).toMatch(/^421 .*from your address/);
    // and they fill the overall cap together with ten plain connections from elsewhere
    const others = await Promise.all(Array.from({ length: MAX - PER_IP }, () => knock(mailer.odmrsPort, { tls: true, localAddress: "127.0.0.8" })));
    expect(others.every((d) => d.first.startsWith("220"))).toBe(true);
    const beyond = await knock(mailer.odmrPort, { localAddress: "127.0.0.9" });
    expect(beyond.first).toMatch(/^421 .*Too many connections, try again later/);
    for (const c of reversed) c.destroy();
    await Promise.all(reversed.map((c) => c.closed));
    await release(others);
    await expect
      .poll(
        async () => {
          const door = await knock(mailer.odmrPort, { localAddress: "127.0.0.7" });
          door.socket.destroy();
          return door.first.slice(0, 3);
        },
        { timeout: 10_000 },
      )
      .toBe("220");
  });
});

describe("ODMR pre-AUTH deadline", () => {
  let mailer: MailerProcess;
  let acme: TestCustomer;

  beforeAll(async () => {
    acme = await makeCustomer("Beta", ["beta.example"]);
    mailer = await startMailer({ ODMR_PREAUTH_SECONDS: "2", AUTH_DELAY_STEP_MS: "0" });
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  it("cuts a client that trickles one byte at a time without ever authenticating, at ODMR_PREAUTH_SECONDS", async () => {
    const door = await knock(mailer.odmrPort, { localAddress: "127.0.3.1" });
    expect(door.first).toMatch(/^220 /);
    let received = "";
    door.socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    const started = Date.now();
    // a byte every 300 ms, never a CRLF: each one restarts the idle timer, none ends a command
    const trickle = setInterval(() => door.socket.write("E"), 300);
    try {
      await Promise.race([door.closed, sleep(10_000)]);
    } finally {
      clearInterval(trickle);
    }
    const seconds = (Date.now() - started) / 1000;
    expect(received).toMatch(/^421 .*Authentication time limit reached/);
    expect(seconds).toBeGreaterThanOrEqual(1.5);
    expect(seconds).toBeLessThan(5);
    await mailer.waitForLog((l) => l.code === "ODMR_PREAUTH_TIMEOUT", 5000);
    await expect
      .poll(() => getDb().odmrSession.findFirst({ where: { remoteAddress: "127.0.3.1", endedAt: { not: null } } }))
      .toMatchObject({ outcome: "no successful AUTH within ODMR_PREAUTH_SECONDS" });
  });

  it("cuts a TLS handshake on the implicit-TLS port that is not done by ODMR_PREAUTH_SECONDS", async () => {
    const socket = net.connect({ port: mailer.odmrsPort, host: "127.0.0.1", localAddress: "127.0.3.2" });
    socket.on("error", () => undefined);
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const started = Date.now();
    // the first bytes of a TLS record header, a byte at a time, never a whole ClientHello
    const bytes = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01];
    const trickle = setInterval(() => bytes.length && socket.write(Buffer.from([bytes.shift()!])), 300);
    try {
      await Promise.race([closed, sleep(10_000)]);
    } finally {
      clearInterval(trickle);
    }
    expect(socket.destroyed).toBe(true);
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(1.5);
    expect(seconds).toBeLessThan(5);
  });

  it("leaves an authenticated client alone past the deadline", async () => {
    const customer = await loggedInCustomer(mailer.odmrPort, acme.login, acme.secret);
    await sleep(3000);
    expect((await customer.command("NOOP")).code).toBe(250);
    customer.end();
  });
});
