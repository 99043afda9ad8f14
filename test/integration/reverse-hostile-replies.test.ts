// A customer (or an ETRN target it controls) that answers without end: a greeting of endless
// "220-" continuation lines, one reply longer than 64 KB, or a reply trickled a byte a second.
// The mailer closes at the bound or the deadline, keeps the mail held, records why on the session,
// and its memory stays where it was.
import fs from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { getDb } from "../../lib/db/client.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { requestEtrnRelease } from "../../lib/etrn/release-requests.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer, type OdmrCustomer } from "../helpers/odmr-customer.ts";
import { sleep } from "../helpers/sleep.ts";

useTestDatabase();

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
  return kb / 1024;
}

/** Writes `chunk` again and again until the peer closes, `maxBytes` are sent or `maxMs` pass; the bytes sent. */
async function flood(write: (chunk: Buffer) => void, closed: Promise<void>, chunk: Buffer, maxBytes: number, maxMs: number): Promise<number> {
  let done = false;
  void closed.then(() => (done = true));
  const end = Date.now() + maxMs;
  let sent = 0;
  while (!done && sent < maxBytes && Date.now() < end) {
    write(chunk);
    sent += chunk.length;
    await sleep(1);
  }
  return sent;
}

/** The outcome of the customer's ended ATRN session (or, `etrn`, of its ETRN run). */
async function outcomeOf(customer: TestCustomer, etrn = false) {
  let outcome: string | null | undefined;
  const where = etrn ? { kind: "etrn" as const, customerId: customer.id } : { loginName: customer.login };
  await expect
    .poll(
      async () => {
        outcome = (await getDb().odmrSession.findFirst({ where: { ...where, endedAt: { not: null } }, orderBy: { startedAt: "desc" } }))?.outcome;
        return outcome;
      },
      { timeout: 15_000 },
    )
    .toBeTruthy();
  return outcome!;
}

async function heldStates(customer: TestCustomer, domain: string) {
  return (await getDb().delivery.findMany({ where: { domainId: customer.domains.get(domain) } })).map((d) => d.state);
}

describe("a customer whose replies do not end", () => {
  let mailer: MailerProcess;

  beforeAll(async () => {
    mailer = await startMailer({ REVERSE_GREETING_TIMEOUT: "3", ETRN_REQUEST_POLL_SECONDS: "1" });
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  async function reversed(name: string, domain: string): Promise<{ customer: TestCustomer; odmr: OdmrCustomer }> {
    const customer = await makeCustomer(name, [domain]);
    await holdMessage([{ address: `u@${domain}`, customer }], testMessage(`${name} mail`));
    const odmr = await loggedInCustomer(mailer.odmrPort, customer.login, customer.secret);
    expect((await odmr.atrn([domain])).code).toBe(250);
    return { customer, odmr };
  }

  it("closes a greeting of endless 220- lines after 100 lines; memory stays bounded, the mail stays held", async () => {
    const before = rssMb(mailer.child.pid!);
    const { customer, odmr } = await reversed("Flooder", "flooder.example");
    const lines = Buffer.from(`220-${"x".repeat(70)}\r\n`.repeat(1000));
    const started = Date.now();
    const sent = await flood((c) => odmr.write(c), odmr.closed, lines, 20 * 1024 * 1024, 10_000);
    await odmr.closed;
    const after = rssMb(mailer.child.pid!);
    console.log(`flood: ${sent} bytes sent before the close after ${Date.now() - started} ms; mailer RSS ${before.toFixed(0)} MB -> ${after.toFixed(0)} MB`);
    expect(sent).toBeLessThan(20 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(3000); // long before the greeting deadline
    expect(after - before).toBeLessThan(64);
    expect(await outcomeOf(customer)).toMatch(/broke the protocol: the customer sent a reply of more than 100 lines/);
    expect(await heldStates(customer, "flooder.example")).toEqual(["queued"]);
    expect(mailer.logs.some((l) => l.code === "ODMR_REVERSE_PROTOCOL")).toBe(true);
  });

  it("closes a reply of few but long lines past 64 KB", async () => {
    const { customer, odmr } = await reversed("Longline", "longline.example");
    odmr.write(`220-${"y".repeat(40_000)}\r\n220-${"y".repeat(40_000)}\r\n`);
    await odmr.closed;
    expect(await outcomeOf(customer)).toMatch(/a reply longer than 65536 bytes/);
    expect(await heldStates(customer, "longline.example")).toEqual(["queued"]);
  });

  it("does not let a trickle of one byte a second extend the greeting deadline", async () => {
    const { customer, odmr } = await reversed("Trickler", "trickler.example");
    const started = Date.now();
    let open = true;
    void odmr.closed.then(() => (open = false));
    // "220 ok" one byte a second: a timer restarted on each byte would not fire before 6 s
    for (const byte of "220 ok, really, any moment now") {
      if (!open) break;
      odmr.write(byte);
      await sleep(1000);
    }
    await odmr.closed;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThan(2500);
    expect(elapsed).toBeLessThan(6000);
    expect(await outcomeOf(customer)).toMatch(/timeout waiting for the reply to the greeting \(220\) \(3 s\)/);
    expect(await heldStates(customer, "trickler.example")).toEqual(["queued"]);
  });

  it("treats an ETRN target that floods its greeting the same way: closed, mail held, the reason on the run", async () => {
    let bytes = 0;
    const target = net.createServer((socket) => {
      socket.on("error", () => undefined);
      const line = Buffer.from(`220-${"z".repeat(70)}\r\n`.repeat(1000));
      const pump = () => {
        while (!socket.destroyed && bytes < 20 * 1024 * 1024 && socket.write(line)) bytes += line.length;
      };
      socket.on("drain", pump);
      pump();
    });
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", () => resolve()));
    try {
      const customer = await makeCustomer("Etrnflood", ["etrnflood.example"]);
      await updateDomain(CLI_ACTOR, "etrnflood.example", {
        etrnEnabled: true,
        etrnTarget: `127.0.0.1:${(target.address() as net.AddressInfo).port}`,
        etrnTls: "none",
      });
      await holdMessage([{ address: "u@etrnflood.example", customer }], testMessage("etrn flood"));
      await requestEtrnRelease(CLI_ACTOR, "etrnflood.example");
      expect(await outcomeOf(customer, true)).toMatch(/more than 100 lines/);
      expect(bytes).toBeLessThan(20 * 1024 * 1024);
      const [held] = await getDb().delivery.findMany({ where: { domainId: customer.domains.get("etrnflood.example") } });
      expect(held.state).toBe("queued");
      expect(held.lastError).toMatch(/more than 100 lines/);
    } finally {
      target.close();
    }
  });
});
