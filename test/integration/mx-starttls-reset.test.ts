// STARTTLS on the MX discards everything learned before it (RFC 3207 §4.2): the AUTH login, the
// EHLO state, the transaction and the error counters. Over real sockets against the real mailer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { updateDomain } from "../../lib/domains/domains.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { makeCustomer, type TestCustomer } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

useTestDatabase();

let mailer: MailerProcess;
let customer: TestCustomer;

beforeAll(async () => {
  customer = await makeCustomer("Tls Reset", ["tlsreset.example"]);
  // ETRN (and the AUTH that exists for it) is offered once a domain has it; the target is never reached in this test
  await updateDomain(CLI_ACTOR, "tlsreset.example", { etrnEnabled: true, etrnTarget: "127.0.0.1:9" });
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

describe("STARTTLS on the MX", () => {
  it("forgets an AUTH made in clear: ETRN inside TLS is refused as from a stranger until AUTH again", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    expect((await dialog.command("EHLO client.example")).code).toBe(250);
    expect((await dialog.authCramMd5(customer.login, customer.secret)).last).toMatch(/^235 2\.7\.0 /);
    await dialog.startTls();
    // the EHLO state went too: a transaction or ETRN needs EHLO again
    expect((await dialog.command("MAIL FROM:<a@client.example>")).code).toBe(503);
    const ehlo = await dialog.command("EHLO client.example");
    expect(ehlo.lines.some((l) => /^AUTH /.test(l))).toBe(true);
    expect((await dialog.command("ETRN tlsreset.example")).last).toBe("459 4.7.0 Node tlsreset.example not allowed: not a domain this client may release");
    expect((await dialog.authCramMd5(customer.login, customer.secret)).last).toMatch(/^235 2\.7\.0 /);
    expect((await dialog.command("ETRN tlsreset.example")).code).toBeLessThan(300);
    dialog.close();
    await mailer.waitForLog((l) => l.code === "MX_STARTTLS_RESET");
  });

  it("starts the error count again inside TLS", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    // MAX_ERRORS is 20: nineteen failures before STARTTLS and nineteen after must not close the session
    for (let i = 0; i < 19; i++) expect((await dialog.command("RCPT TO:<a@tlsreset.example>")).code).toBe(503);
    await dialog.command("EHLO client.example");
    await dialog.startTls();
    for (let i = 0; i < 19; i++) expect((await dialog.command("RCPT TO:<a@tlsreset.example>")).code).toBe(503);
    expect((await dialog.command("NOOP")).code).toBe(250);
    dialog.close();
  });
});
