// The MX reuses its recipient decisions only until the database announces a change: a suspension,
// a paused domain, a new or removed recipient counts for the next RCPT; while the mailer cannot
// hear of changes (its listening connection is gone) every RCPT asks the database, and listening
// comes back by itself. A change that announces nothing (made with triggers off, which no part of
// Mailharbor does) is how the tests see that an answer was reused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { setCustomerStatus } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { addRecipients, removeRecipient } from "../../lib/recipients/recipients.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { makeCustomer, type TestCustomer } from "../helpers/fixtures.ts";
import { lookupListenerPids, lookupListening } from "../helpers/lookup-listener.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

useTestDatabase();

let mailer: MailerProcess;
let customer: TestCustomer;

beforeAll(async () => {
  customer = await makeCustomer("Cached", ["cached.example", { name: "listed.example", recipientPolicy: "listed" }]);
  mailer = await startMailer(); // the default MX_LOOKUP_CACHE_SECONDS
  await lookupListening();
});

afterAll(async () => {
  await mailer?.stop();
});

async function rcpt(address: string): Promise<string> {
  const dialog = await SmtpDialog.open(mailer.mxPort);
  await dialog.command("EHLO client.example");
  await dialog.command("MAIL FROM:<s@example.org>");
  const reply = await dialog.command(`RCPT TO:<${address}>`);
  dialog.close();
  return reply.last;
}

/** Changes rows without firing triggers, so that no change is announced. */
async function silently(sql: string): Promise<void> {
  await getDb().$transaction([getDb().$executeRawUnsafe("SET LOCAL session_replication_role = replica"), getDb().$executeRawUnsafe(sql)]);
}

describe("MX recipient lookups", () => {
  it("reuses an answer while nothing announces a change, and drops it when a change commits", async () => {
    expect(await rcpt("u@cached.example")).toMatch(/^250 2\.1\.5 /);
    await silently(`UPDATE domain SET accept_inbound = false WHERE name = 'cached.example'`);
    // reused: the database now says paused, but nothing said so
    expect(await rcpt("u@cached.example")).toMatch(/^250 2\.1\.5 /);
    await setCustomerStatus(CLI_ACTOR, customer.id, "suspended");
    expect(await rcpt("u@cached.example")).toMatch(/^450 4\.7\.1 /);
    await setCustomerStatus(CLI_ACTOR, customer.id, "active");
    expect(await rcpt("u@cached.example")).toMatch(/^450 4\.7\.1 /); // active again, but the domain is paused
    await updateDomain(CLI_ACTOR, "cached.example", { acceptInbound: true });
    expect(await rcpt("u@cached.example")).toMatch(/^250 2\.1\.5 /);
  });

  it("counts a new and a removed listed recipient for the next RCPT", async () => {
    expect(await rcpt("new@listed.example")).toMatch(/^550 5\.1\.1 /);
    await addRecipients(CLI_ACTOR, "listed.example", ["new@listed.example"]);
    expect(await rcpt("new@listed.example")).toMatch(/^250 2\.1\.5 /);
    await removeRecipient(CLI_ACTOR, "listed.example", "new@listed.example");
    expect(await rcpt("new@listed.example")).toMatch(/^550 5\.1\.1 /);
  });

  it("asks the database on every RCPT while it cannot hear of changes, and listens again by itself", async () => {
    expect(await rcpt("v@cached.example")).toMatch(/^250 2\.1\.5 /);
    const before = await lookupListenerPids();
    expect(before).toHaveLength(1);
    await getDb().$queryRaw`SELECT pg_terminate_backend(${before[0]}::int)`;
    await mailer.waitForLog((l) => l.code === "LISTEN_LOST");
    await silently(`UPDATE domain SET accept_inbound = false WHERE name = 'cached.example'`);
    // not reused: a change could have gone unheard
    expect(await rcpt("v@cached.example")).toMatch(/^450 4\.7\.1 /);
    await lookupListening();
    const after = await lookupListenerPids();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    await updateDomain(CLI_ACTOR, "cached.example", { acceptInbound: true });
    expect(await rcpt("v@cached.example")).toMatch(/^250 2\.1\.5 /);
    // and reuses answers again
    await silently(`UPDATE domain SET accept_inbound = false WHERE name = 'cached.example'`);
    expect(await rcpt("v@cached.example")).toMatch(/^250 2\.1\.5 /);
  });
});
