import { describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { verifyOdmrPassword } from "../../lib/logins/verify-odmr-login.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";

useTestDatabase();

describe("mailharbor CLI", () => {
  it("prints help, and a one-line error for an unknown command", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("mailharbor customer add --name NAME");
    const bad = await runCli(["frobnicate", "now", "--json"]);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe("INVALID_INPUT");
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("provisions a customer end to end, recording every change in the audit log", async () => {
    const customer = await runCli(["customer", "add", "--name", "Acme Ltd", "--email", "ops@acme.example", "--json"]);
    expect(customer.code).toBe(0);
    expect(customer.json).toMatchObject({ name: "Acme Ltd", email: "ops@acme.example", status: "active" });

    const login = await runCli(["login", "add", "--customer", "Acme Ltd", "--login", "acme", "--json"]);
    expect(login.code).toBe(0);
    expect(login.json.secret).toMatch(/^[A-Za-z0-9]{24}$/);
    expect((await verifyOdmrPassword("acme", login.json.secret)).ok).toBe(true);

    const domain = await runCli([
      "domain",
      "add",
      "--customer",
      customer.json.id,
      "--domain",
      "Acme.Example",
      "--recipients",
      "a@acme.example,b@acme.example",
      "--json",
    ]);
    expect(domain.code).toBe(0);
    expect(domain.json).toMatchObject({ name: "acme.example", recipientPolicy: "listed" });

    const more = await runCli(["recipient", "add", "--domain", "acme.example", "c@acme.example", "d", "--json"]);
    expect(more.code).toBe(0);
    expect(more.json.added.sort()).toEqual(["c@acme.example", "d@acme.example"]);
    expect(await getDb().recipient.count({ where: { domainId: domain.json.id } })).toBe(4);

    const user = await runCli(["user", "add", "--email", "boss@acme.example", "--role", "customer", "--customer", "Acme Ltd", "--json"]);
    expect(user.code).toBe(0);
    expect(user.json.password).toHaveLength(16);

    const rotated = await runCli(["login", "rotate", "--login", "acme", "--keep-old-hours", "0", "--json"]);
    expect(rotated.code).toBe(0);
    expect((await verifyOdmrPassword("acme", rotated.json.secret)).ok).toBe(true);
    expect((await verifyOdmrPassword("acme", login.json.secret)).ok).toBe(false);

    const set = await runCli([
      "domain",
      "set",
      "--domain",
      "acme.example",
      "--etrn",
      "on",
      "--etrn-target",
      "192.0.2.10:2525",
      "--etrn-from",
      "192.0.2.0/24",
      "--json",
    ]);
    expect(set.code).toBe(0);
    expect(set.json).toMatchObject({ etrnEnabled: true, etrnTarget: "192.0.2.10:2525", etrnFrom: ["192.0.2.0/24"] });

    const actions = (await getDb().auditEvent.findMany({ where: { actorType: "cli" }, orderBy: { id: "asc" } })).map((e) => e.action);
    expect(actions).toEqual(["customer.create", "login.create", "domain.create", "recipient.add", "user.create", "login.rotate", "domain.update"]);
  });

  it("suspends and resumes customers, disables, restricts and lists logins, lists domains", async () => {
    expect((await runCli(["customer", "suspend", "--customer", "Acme Ltd", "--json"])).json.status).toBe("suspended");
    expect((await getDb().customer.findUniqueOrThrow({ where: { name: "Acme Ltd" } })).status).toBe("suspended");
    expect((await runCli(["customer", "resume", "--customer", "Acme Ltd", "--json"])).json.status).toBe("active");
    expect((await runCli(["login", "disable", "--login", "acme", "--json"])).json.status).toBe("disabled");
    expect((await runCli(["login", "enable", "--login", "acme", "--json"])).json.status).toBe("active");
    await runCli(["domain", "add", "--customer", "Acme Ltd", "--domain", "second.example", "--accept-all"]);
    const restricted = await runCli(["login", "restrict", "--login", "acme", "--domains", "second.example", "--json"]);
    expect(restricted.code).toBe(0);
    const logins = await runCli(["login", "list", "--customer", "Acme Ltd", "--json"]);
    expect(logins.json).toEqual([expect.objectContaining({ login: "acme", status: "active", domains: ["second.example"] })]);
    expect((await runCli(["login", "restrict", "--login", "acme", "--all", "--json"])).code).toBe(0);
    expect((await runCli(["login", "list", "--json"])).json[0].domains).toBe("all");
    const domains = await runCli(["domain", "list", "--customer", "Acme Ltd", "--json"]);
    expect(domains.json.map((d: { name: string; held: number }) => [d.name, d.held])).toEqual([
      ["acme.example", 0],
      ["second.example", 0],
    ]);
    const customers = await runCli(["customer", "list", "--search", "acme", "--json"]);
    expect(customers.json.items.map((c: { name: string }) => c.name)).toEqual(["Acme Ltd"]);
    const audit = (
      await getDb().auditEvent.findMany({
        where: { actorType: "cli", action: { in: ["customer.suspend", "customer.resume", "login.disable", "login.enable", "login.restrict"] } },
      })
    ).length;
    expect(audit).toBe(6);
  }, 300_000); // a dozen CLI processes: seconds each on a busy machine

  it("lists the queue with the total and the newest items first", async () => {
    const domain = await getDb().domain.findUniqueOrThrow({ where: { name: "acme.example" } });
    for (let i = 0; i < 3; i++) {
      await storeMessage({
        mailFrom: `s${i}@sender.example`,
        raw: Buffer.from(`Subject: m${i}\r\n\r\nbody\r\n`),
        recipients: [{ address: "a@acme.example", domainId: domain.id, customerId: domain.customerId }],
      });
    }
    const list = await runCli(["queue", "list", "--domain", "acme.example", "--limit", "2", "--json"]);
    expect(list.code).toBe(0);
    expect(list.json.total).toBe(3);
    expect(list.json.items.map((m: { mailFrom: string }) => m.mailFrom)).toEqual(["s2@sender.example", "s1@sender.example"]);
    const none = await runCli(["queue", "list", "--state", "delivered", "--json"]);
    expect(none.json).toEqual({ total: 0, items: [] });
  });

  it.each([
    [["customer", "add", "--json"], 2, /--name is required/],
    [["customer", "add", "--name", "Acme Ltd", "--json"], 4, /already exists/],
    [["customer", "add", "--name", "X", "--email", "not-an-address", "--json"], 2, /not a valid e-mail address/],
    [["login", "add", "--customer", "Nobody", "--login", "x1", "--json"], 3, /no customer "Nobody"/],
    [["login", "add", "--customer", "Acme Ltd", "--login", "acme", "--json"], 4, /login "acme" is taken/],
    [["login", "add", "--customer", "Acme Ltd", "--login", "bad login", "--json"], 2, /not a valid login name/],
    [["login", "add", "--customer", "Acme Ltd", "--login", "x2", "--password", "short", "--json"], 2, /at least 12 characters/],
    [["login", "rotate", "--login", "ghost", "--json"], 3, /no login "ghost"/],
    [["login", "rotate", "--login", "acme", "--keep-old-hours", "-1", "--json"], 2, /unknown option|whole number/],
    [["domain", "add", "--customer", "Acme Ltd", "--domain", "acme.example", "--json"], 4, /already hosted/],
    [["domain", "add", "--customer", "Acme Ltd", "--domain", "bad_domain", "--json"], 2, /not a valid domain name/],
    [["domain", "add", "--customer", "Acme Ltd", "--domain", "vm", "--json"], 2, /not a valid domain name/],
    [["domain", "add", "--customer", "Acme Ltd", "--domain", "x.example", "--recipients", "a@other.example", "--json"], 2, /not in x.example/],
    [["domain", "set", "--domain", "acme.example", "--etrn-target", "nohost", "--json"], 2, /HOST:PORT/],
    [["domain", "set", "--domain", "acme.example", "--atrn", "maybe", "--json"], 2, /on or off/],
    [["recipient", "add", "--domain", "acme.example", "bad@@x", "--json"], 2, /rejected/],
    [["recipient", "add", "--domain", "nope.example", "a@nope.example", "--json"], 3, /no domain/],
    [["user", "add", "--email", "x@acme.example", "--role", "admin", "--json"], 2, /role must be staff or customer/],
    [["user", "add", "--email", "y@acme.example", "--role", "customer", "--json"], 2, /needs a customer/],
    [["queue", "list", "--state", "lost", "--json"], 2, /state must be one of/],
    [["queue", "list", "--limit", "0", "--json"], 2, /limit must be 1-1000/],
    [["customer", "add", "--name", "Y", "--bogus", "--json"], 2, /unknown option --bogus/],
  ])("refuses %j with exit %i", async (args, code, message) => {
    const result = await runCli(args as string[]);
    expect(result.code).toBe(code);
    expect(result.json.error.message).toMatch(message);
    expect(result.stderr).toMatch(/^mailharbor: .+\n$/);
  });

  it("changes nothing when it refuses", async () => {
    expect(await getDb().customer.count({ where: { name: { in: ["X", "Y"] } } })).toBe(0);
    expect(await getDb().domain.count({ where: { name: "x.example" } })).toBe(0);
  });
});
