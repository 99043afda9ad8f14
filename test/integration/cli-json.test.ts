// The CLI's --json output is a contract for billing and provisioning scripts: each command prints
// its projection from cli/json-output.ts (never a database row). These tests pin every shape: the
// exact field names, so a new column cannot leak in and a renamed field cannot slip out.
import { describe, expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";

useTestDatabase();

async function json(args: string[]) {
  const result = await runCli([...args, "--json"]);
  expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
  return result.json;
}

const keys = (value: object) => Object.keys(value).sort();

const CUSTOMER = ["createdAt", "email", "id", "name", "status"];
const DOMAIN = [
  "acceptInbound",
  "atrnEnabled",
  "bounceHeldAt",
  "bounceProtectionPercent",
  "createdAt",
  "customerId",
  "etrnEnabled",
  "etrnFrom",
  "etrnTarget",
  "etrnTls",
  "id",
  "maxMessageSize",
  "name",
  "recipientDelimiter",
  "recipientPolicy",
  "retentionDays",
];

describe("mailharbor --json shapes", () => {
  it("customers, logins, domains, recipients, users, tokens and the queue each print their projection", async () => {
    const customer = await json(["customer", "add", "--name", "Shape Ltd", "--email", "ops@shape.example"]);
    expect(keys(customer)).toEqual(CUSTOMER);
    expect(customer.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(keys(await json(["customer", "suspend", "--customer", "Shape Ltd"]))).toEqual(CUSTOMER);
    expect(keys(await json(["customer", "resume", "--customer", "Shape Ltd"]))).toEqual(CUSTOMER);
    const customers = await json(["customer", "list"]);
    expect(keys(customers)).toEqual(["items", "total"]);
    expect(keys(customers.items[0])).toEqual([...CUSTOMER, "domains", "logins"].sort());

    expect(keys(await json(["login", "add", "--customer", "Shape Ltd", "--login", "shape"]))).toEqual(["customerId", "id", "login", "secret"]);
    expect(keys(await json(["login", "rotate", "--login", "shape", "--keep-old-hours", "0"]))).toEqual(["login", "oldSecretsExpireAt", "secret"]);
    expect(keys(await json(["login", "disable", "--login", "shape"]))).toEqual(["id", "login", "status"]);
    expect(keys(await json(["login", "enable", "--login", "shape"]))).toEqual(["id", "login", "status"]);

    const domain = await json(["domain", "add", "--customer", "Shape Ltd", "--domain", "shape.example", "--recipients", "a@shape.example"]);
    expect(keys(domain)).toEqual(DOMAIN);
    expect(keys(await json(["domain", "set", "--domain", "shape.example", "--etrn", "on", "--etrn-target", "192.0.2.1:25", "--etrn-tls", "required"]))).toEqual(
      DOMAIN,
    );
    const domains = await json(["domain", "list", "--customer", "Shape Ltd"]);
    expect(keys(domains[0])).toEqual([...DOMAIN, "customer", "held", "recipients"].sort());
    expect([domains[0].customer, domains[0].recipients, domains[0].held]).toEqual(["Shape Ltd", 1, 0]);
    expect(keys(await json(["domain", "release", "--domain", "shape.example"]))).toEqual(["domain", "domainId", "requestedAt"]);
    expect(keys(await json(["login", "restrict", "--login", "shape", "--domains", "shape.example"]))).toEqual(["domains", "login"]);
    const logins = await json(["login", "list", "--customer", "Shape Ltd"]);
    expect(keys(logins[0])).toEqual(["customer", "domains", "id", "lastUsedAt", "lastUsedIp", "login", "status"]);
    expect(keys(await json(["recipient", "add", "--domain", "shape.example", "b@shape.example"]))).toEqual(["added", "existing", "rejected"]);

    expect(keys(await json(["user", "add", "--email", "boss@shape.example", "--role", "customer", "--customer", "Shape Ltd"]))).toEqual([
      "customerId",
      "email",
      "id",
      "password",
      "role",
    ]);
    // a password given on the command line is not printed back
    expect(keys(await json(["user", "add", "--email", "two@shape.example", "--role", "staff", "--password", "a-long-password"]))).toEqual([
      "customerId",
      "email",
      "id",
      "role",
    ]);

    expect(keys(await json(["token", "add", "--name", "shape-billing", "--scopes", "read"]))).toEqual(["customerId", "id", "name", "scopes", "token"]);
    const tokens = await json(["token", "list"]);
    expect(keys(tokens[0])).toEqual(["createdAt", "customer", "id", "lastUsedAt", "name", "prefix", "revokedAt", "scopes"]);
    expect(keys(await json(["token", "revoke", "--token", "shape-billing"]))).toEqual(["id", "name", "revokedAt"]);

    const row = await getDb().domain.findUniqueOrThrow({ where: { name: "shape.example" } });
    await storeMessage({
      mailFrom: "s@sender.example",
      raw: Buffer.from("Subject: shape\r\n\r\nbody\r\n"),
      recipients: [{ address: "a@shape.example", domainId: row.id, customerId: row.customerId }],
    });
    const queue = await json(["queue", "list", "--domain", "shape.example"]);
    expect(keys(queue)).toEqual(["items", "total"]);
    expect(keys(queue.items[0])).toEqual(["deliveries", "expiresAt", "fromHeader", "id", "mailFrom", "receivedAt", "size", "subject"]);
    expect(keys(queue.items[0].deliveries[0])).toEqual(["attempts", "customer", "domain", "lastError", "recipient", "state"]);
    // some 25 CLI processes in a row, each starting Node and opening the database
  }, 300_000);

  it("refuses a flag value outside its choices before doing anything", async () => {
    const tls = await runCli(["domain", "set", "--domain", "shape.example", "--etrn-tls", "sometimes", "--json"]);
    expect(tls.code).toBe(2);
    expect(tls.json.error).toEqual({ code: "INVALID_INPUT", message: expect.stringMatching(/^--etrn-tls must be one of opportunistic, required, none/) });
  });
});
