// Per-domain recipient delimiters over real SMTP to the real mailer process: which extended
// addresses RCPT takes for each setting, that the address is stored exactly as sent, that the
// portal's message view names the list entry it matched, and who may change the setting (staff,
// the CLI and provisioning API tokens only: a customer, even for its own domain, may not).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR, type Actor } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createDomain, getDomain, updateDomain } from "../../lib/domains/domains.ts";
import { getMessageDetail } from "../../lib/queue/message-detail.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { customerActor } from "../helpers/fixtures.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";

useTestDatabase();

let mailer: MailerProcess;
let customerA: Actor;
let customerB: Actor;

beforeAll(async () => {
  const a = await createCustomer(CLI_ACTOR, { name: "Alpha" });
  const b = await createCustomer(CLI_ACTOR, { name: "Beta" });
  customerA = customerActor(a, "admin@plus.example");
  customerB = customerActor(b, "admin@beta.example");
  const listed = { customer: a.id, recipientPolicy: "listed" as const };
  await createDomain(CLI_ACTOR, {
    ...listed,
    name: "plus.example",
    recipientDelimiter: "+",
    recipients: ["joe@plus.example", "a+b@plus.example", "jörg@plus.example"],
  });
  await createDomain(CLI_ACTOR, { ...listed, name: "dash.example", recipientDelimiter: "-", recipients: ["joe@dash.example"] });
  await createDomain(CLI_ACTOR, { ...listed, name: "both.example", recipientDelimiter: "+-", recipients: ["joe@both.example", "joe-a@both.example"] });
  await createDomain(CLI_ACTOR, { ...listed, name: "none.example", recipients: ["joe@none.example"] });
  await createDomain(CLI_ACTOR, { customer: a.id, name: "open.example", recipientPolicy: "accept_all", recipientDelimiter: "+" });
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

async function rcpt(to: string, mailParams = ""): Promise<number> {
  const dialog = await SmtpDialog.open(mailer.mxPort);
  try {
    expect((await dialog.command("EHLO client.example")).code).toBe(250);
    expect((await dialog.command(`MAIL FROM:<sender@origin.example>${mailParams}`)).code).toBe(250);
    return (await dialog.command(`RCPT TO:<${to}>`)).code;
  } finally {
    dialog.close();
  }
}

describe("RCPT with a recipient delimiter", () => {
  it("'+': takes joe+news@ for a listed joe@, not joe-news@", async () => {
    expect(await rcpt("joe+news@plus.example")).toBe(250);
    expect(await rcpt("joe+a+b@plus.example")).toBe(250);
    expect(await rcpt("joe@plus.example")).toBe(250);
    expect(await rcpt("joe-news@plus.example")).toBe(550);
    expect(await rcpt("jim+news@plus.example")).toBe(550);
  });

  it("'-': takes joe-news@, not joe+news@", async () => {
    expect(await rcpt("joe-news@dash.example")).toBe(250);
    expect(await rcpt("joe+news@dash.example")).toBe(550);
  });

  it("'+-': either starts the extension, and the first one counts", async () => {
    expect(await rcpt("joe+news@both.example")).toBe(250);
    expect(await rcpt("joe-news@both.example")).toBe(250);
    expect(await rcpt("joe_news@both.example")).toBe(550);
    // joe-a is listed, but joe-a+x@ is cut at its first delimiter: joe@, also listed
    expect(await rcpt("joe-a+x@both.example")).toBe(250);
    expect(await rcpt("joe-a@both.example")).toBe(250);
  });

  it("none: an extended address is an unknown user", async () => {
    expect(await rcpt("joe+news@none.example")).toBe(550);
    expect(await rcpt("joe@none.example")).toBe(250);
  });

  it("matches a listed address that contains the delimiter as listed; its siblings are not taken", async () => {
    expect(await rcpt("a+b@plus.example")).toBe(250);
    expect(await rcpt("A+B@plus.example")).toBe(250);
    // the base of a+c@ is a@, which is not listed
    expect(await rcpt("a+c@plus.example")).toBe(550);
  });

  it("takes an empty extension, and never a bare extension", async () => {
    expect(await rcpt("joe+@plus.example")).toBe(250);
    expect(await rcpt("+news@plus.example")).toBe(550);
  });

  it("ignores case as the plain lookup does", async () => {
    expect(await rcpt("JOE+News@Plus.Example")).toBe(250);
    expect(await rcpt("Joe-NEWS@DASH.example")).toBe(250);
  });

  it("works on SMTPUTF8 local parts (RFC 6531)", async () => {
    expect(await rcpt("jörg+post@plus.example", " SMTPUTF8")).toBe(250);
    expect(await rcpt("JÖRG+post@plus.example", " SMTPUTF8")).toBe(250);
    expect(await rcpt("jürgen+post@plus.example", " SMTPUTF8")).toBe(550);
  });

  it("leaves accept-all domains and the postmaster as they were", async () => {
    expect(await rcpt("anyone-at+all@open.example")).toBe(250);
    expect(await rcpt("postmaster@none.example")).toBe(250);
  });

  it("counts a change of the setting at the next RCPT", async () => {
    expect(await rcpt("joe+x@dash.example")).toBe(550);
    await updateDomain(CLI_ACTOR, "dash.example", { recipientDelimiter: "+-" });
    expect(await rcpt("joe+x@dash.example")).toBe(250);
    await updateDomain(CLI_ACTOR, "dash.example", { recipientDelimiter: "" });
    expect(await rcpt("joe-x@dash.example")).toBe(550);
    await updateDomain(CLI_ACTOR, "dash.example", { recipientDelimiter: "-" });
  });
});

describe("an extended address is kept as sent", () => {
  it("stores and shows the address unchanged, with the list entry it matched", async () => {
    const dialog = await SmtpDialog.open(mailer.mxPort);
    await dialog.command("EHLO client.example");
    const sent = await dialog.send("sender@origin.example", ["Joe+News@plus.example", "a+b@plus.example"], "Subject: extension\r\n\r\nhello\r\n");
    dialog.close();
    expect(sent.final!.code).toBe(250);
    const id = /queued as (\S+)/.exec(sent.final!.last)![1];
    const deliveries = await getDb().delivery.findMany({ where: { messageId: id }, orderBy: { id: "asc" } });
    expect(deliveries.map((d) => d.recipient)).toEqual(["Joe+News@plus.example", "a+b@plus.example"]);

    for (const actor of [CLI_ACTOR, customerA]) {
      const detail = await getMessageDetail(actor, id);
      // the extended address names joe@; a+b@ matched itself, so it names nothing
      expect(detail.deliveries.map((d) => [d.recipient, d.listedAs])).toEqual([
        ["Joe+News@plus.example", "joe@plus.example"],
        ["a+b@plus.example", null],
      ]);
    }
    // the other customer's id: NOT_FOUND, as for any other message
    await expect(getMessageDetail(customerB, id)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("who may set the delimiter", () => {
  it("refuses a customer, for the other customer's domain and for its own, and changes nothing", async () => {
    await expect(updateDomain(customerB, "plus.example", { recipientDelimiter: "-" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(updateDomain(customerA, "plus.example", { recipientDelimiter: "-" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await getDomain(CLI_ACTOR, "plus.example")).recipientDelimiter).toBe("+");
  });

  it("refuses characters outside +-_=.", async () => {
    await expect(updateDomain(CLI_ACTOR, "plus.example", { recipientDelimiter: "#" })).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("is set and turned off with the CLI (domain add and domain set)", async () => {
    const added = await runCli([
      "domain",
      "add",
      "--customer",
      "Alpha",
      "--domain",
      "cli.example",
      "--recipients",
      "joe@cli.example",
      "--recipient-delimiter",
      "=",
      "--json",
    ]);
    expect(added.code).toBe(0);
    expect(added.json.recipientDelimiter).toBe("=");
    expect(await rcpt("joe=x@cli.example")).toBe(250);
    const set = await runCli(["domain", "set", "--domain", "cli.example", "--recipient-delimiter", "+-", "--json"]);
    expect(set.code).toBe(0);
    expect(set.json.recipientDelimiter).toBe("+-");
    expect(await rcpt("joe=x@cli.example")).toBe(550);
    expect(await rcpt("joe-x@cli.example")).toBe(250);
    const off = await runCli(["domain", "set", "--domain", "cli.example", "--recipient-delimiter", "", "--json"]);
    expect(off.code).toBe(0);
    expect(off.json.recipientDelimiter).toBe("");
    expect(await rcpt("joe-x@cli.example")).toBe(550);
    const bad = await runCli(["domain", "set", "--domain", "cli.example", "--recipient-delimiter", "x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/recipientDelimiter/);
  }, 300_000); // four CLI processes: seconds each on a busy machine
});
