// 250 means stored: the MX answers 451 4.3.0 and stores nothing when PostgreSQL fails under it
// (connections refused, a backend killed in the middle of the insert), and every message that got
// a 250 survives the mailer being killed with SIGKILL in the middle of a burst.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { lookupListening } from "../helpers/lookup-listener.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

const env = useTestDatabase();

let mailer: MailerProcess;
let admin: pg.Client;
let dbName = "";

beforeAll(async () => {
  const customer = await createCustomer(CLI_ACTOR, { name: "Durable" });
  await createDomain(CLI_ACTOR, { customer: customer.id, name: "durable.example", recipientPolicy: "accept_all" });
  dbName = new URL(env.url).pathname.slice(1);
  admin = new pg.Client({ connectionString: inject("pgAdminUrl") });
  await admin.connect();
  mailer = await startMailer();
  // the test of an outage needs the mailer's reuse of recipient decisions to be in force when it starts
  await lookupListening();
});

afterAll(async () => {
  await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`).catch(() => undefined);
  await mailer?.stop();
  await admin.end();
});

/** Makes the test database refuse new connections and ends the open ones: PostgreSQL is "down" for this file. */
async function databaseDown(): Promise<void> {
  await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [dbName]);
}

async function databaseUp(): Promise<void> {
  await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
}

/** Counts rows straight from PostgreSQL, for messages from one sender. */
async function rowsFrom(sender: string): Promise<{ messages: number; bodies: number; deliveries: number }> {
  const messages = await getDb().message.findMany({ where: { mailFrom: sender }, select: { id: true } });
  const ids = messages.map((m) => m.id);
  return {
    messages: ids.length,
    bodies: await getDb().messageBody.count({ where: { messageId: { in: ids } } }),
    deliveries: await getDb().delivery.count({ where: { messageId: { in: ids } } }),
  };
}

describe("MX durability", () => {
  it("answers 451 4.3.0 at RCPT and at DATA while the database is down, and recovers", async () => {
    const early = await SmtpDialog.open(mailer.mxPort);
    await early.command("EHLO client.example");
    await early.command("MAIL FROM:<down@example.org>");
    expect((await early.command("RCPT TO:<u@durable.example>")).code).toBe(250);

    await databaseDown();
    try {
      // once the mailer has seen its connections go, no earlier answer is reused
      await mailer.waitForLog((l) => l.code === "LISTEN_LOST");
      // a recipient that has to be looked up now
      const late = await SmtpDialog.open(mailer.mxPort);
      await late.command("EHLO client.example");
      await late.command("MAIL FROM:<down@example.org>");
      expect((await late.command("RCPT TO:<v@durable.example>")).last).toMatch(/^451 4\.3\.0 /);
      late.close();
      // a transaction whose recipient was accepted before the outage cannot be stored now
      expect((await early.command("DATA")).code).toBe(354);
      early.write("Subject: during the outage\r\n\r\nbody\r\n.\r\n");
      expect((await early.reply()).last).toMatch(/^451 4\.3\.0 /);
    } finally {
      await databaseUp();
    }
    const after = await early.send("after@example.org", ["u@durable.example"], "Subject: after\r\n\r\nbody\r\n");
    expect(after.final!.last).toMatch(/^250 2\.0\.0 Ok: queued as /);
    early.close();
    expect(await rowsFrom("down@example.org")).toEqual({ messages: 0, bodies: 0, deliveries: 0 });
    expect((await rowsFrom("after@example.org")).messages).toBe(1);
    await mailer.waitForLog((l) => l.msg === "message not stored" && l.code === "DB_UNAVAILABLE");
  });

  it("answers 451 4.3.0 and leaves no partial rows when the backend dies in the middle of the insert", async () => {
    // a trigger holds the insert open after the message and body rows are in, so that the
    // backend can be terminated with the transaction half done
    const db = new pg.Client({ connectionString: env.url });
    await db.connect();
    await db.query(`CREATE FUNCTION slow_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.recipient LIKE 'slow%' THEN PERFORM pg_sleep(30); END IF; RETURN NEW; END $$`);
    await db.query("CREATE TRIGGER slow_delivery BEFORE INSERT ON delivery FOR EACH ROW EXECUTE FUNCTION slow_delivery()");
    try {
      const dialog = await SmtpDialog.open(mailer.mxPort);
      await dialog.command("EHLO client.example");
      await dialog.command("MAIL FROM:<midway@example.org>");
      expect((await dialog.command("RCPT TO:<slow@durable.example>")).code).toBe(250);
      expect((await dialog.command("DATA")).code).toBe(354);
      dialog.write("Subject: killed midway\r\n\r\nbody\r\n.\r\n");
      let killed = 0;
      for (let i = 0; i < 200 && !killed; i++) {
        const { rows } = await db.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'PgSleep'", [dbName]);
        killed = rows.length;
        if (!killed) await sleep(50);
      }
      expect(killed).toBe(1);
      expect((await dialog.reply()).last).toMatch(/^451 4\.3\.0 /);
      dialog.close();
    } finally {
      await db.query("DROP TRIGGER slow_delivery ON delivery");
      await db.query("DROP FUNCTION slow_delivery()");
      await db.end();
    }
    expect(await rowsFrom("midway@example.org")).toEqual({ messages: 0, bodies: 0, deliveries: 0 });
  });

  it("keeps every message that got a 250 when the mailer is killed during a burst", async () => {
    const accepted: string[] = [];
    let stop = false;
    const sender = async (n: number) => {
      const dialog = await SmtpDialog.open(mailer.mxPort);
      await dialog.command(`EHLO sender${n}.example`);
      try {
        for (let i = 0; !stop; i++) {
          const result = await dialog.send(
            `burst@example.org`,
            [`s${n}-${i}@durable.example`],
            `Subject: burst ${n}/${i}\r\n\r\n${"b".repeat(78).concat("\r\n").repeat(25)}`,
          );
          const match = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{16})$/.exec(result.final?.last ?? "");
          if (match) accepted.push(match[1]);
        }
      } catch {
        // the mailer is gone: whatever was not answered was not promised
      }
    };
    let running = 8;
    const senders = Array.from({ length: running }, (_, n) => sender(n).finally(() => running--));
    while (accepted.length < 200 && running > 0) await sleep(10);
    expect(accepted.length).toBeGreaterThanOrEqual(200);
    await mailer.kill();
    stop = true;
    await Promise.all(senders);

    const found = await getDb().message.findMany({
      where: { id: { in: accepted } },
      select: { id: true, _count: { select: { deliveries: true } }, body: { select: { messageId: true } } },
    });
    expect(found.length).toBe(accepted.length);
    expect(found.every((m) => m._count.deliveries === 1 && m.body !== null)).toBe(true);
  });
});
