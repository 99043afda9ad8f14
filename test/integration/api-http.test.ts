// The HTTP API (/api/v1) over the real built portal behind scripts/portal-server.ts, against a real
// PostgreSQL: every operation with good and bad input, bearer-token authentication and scopes,
// tenant isolation for a customer's token, the audit row of every call, the OpenAPI document.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createApiToken, revokeApiToken } from "../../lib/api-tokens/api-tokens.ts";
import { getDb } from "../../lib/db/client.ts";
import { verifyOdmrPassword } from "../../lib/logins/verify-odmr-login.ts";
import { addRecipients, removeRecipient } from "../../lib/recipients/recipients.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { domainId, holdMessage, makeCustomer } from "../helpers/fixtures.ts";
import { startPortal, type Portal } from "../helpers/portal.ts";
import { PROJECT_ROOT } from "../helpers/project-root.ts";

const env = useTestDatabase();
let portal: Portal;

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed response whose shape each test asserts
  json: any;
  headers: Headers;
}

async function call(token: string | null, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${portal.url}/api/v1${route}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}

function expectError(answer: Answer, status: number, code: string) {
  expect({ status: answer.status, code: answer.json?.error?.code }).toEqual({ status, code });
  expect(typeof answer.json.error.message).toBe("string");
  expect(Object.keys(answer.json)).toEqual(["error"]);
}

const MISSING_ID = "00000000-0000-4000-8000-000000000000";
const t = { all: "", read: "", provision: "", a: "", aRead: "" };
const ids = { a: "", b: "", aDomain: "", bDomain: "", aLogin: "", bLogin: "" };

beforeAll(async () => {
  const a = await makeCustomer("Alpha Ltd", [{ name: "alpha.example", recipients: ["info@alpha.example"] }], { login: "alpha" });
  const b = await makeCustomer("Beta Ltd", [{ name: "beta.example", recipientPolicy: "accept_all", etrnEnabled: true, etrnTarget: "127.0.0.1:2525" }], {
    login: "beta",
  });
  Object.assign(ids, { a: a.id, b: b.id, aDomain: domainId(a, "alpha.example"), bDomain: domainId(b, "beta.example"), aLogin: a.loginId, bLogin: b.loginId });
  t.all = (await createApiToken(CLI_ACTOR, { name: "billing", scopes: ["read", "provision", "queue"] })).secret;
  t.read = (await createApiToken(CLI_ACTOR, { name: "reporting", scopes: ["read"] })).secret;
  t.provision = (await createApiToken(CLI_ACTOR, { name: "writer", scopes: ["provision"] })).secret;
  t.a = (await createApiToken(CLI_ACTOR, { name: "alpha-self", scopes: ["read", "provision", "queue"], customer: a.id })).secret;
  t.aRead = (await createApiToken(CLI_ACTOR, { name: "alpha-read", scopes: ["read"], customer: "Alpha Ltd" })).secret;
  for (const [i, [address, customer]] of (
    [
      ["info@alpha.example", a],
      ["x@beta.example", b],
      ["y@beta.example", b],
    ] as const
  ).entries()) {
    await holdMessage([{ address, customer }], Buffer.from(`Subject: note ${i}\r\n\r\nbody\r\n`), `sender${i}@origin.example`);
  }
  await getDb().odmrSession.createMany({
    data: [
      {
        loginId: ids.aLogin,
        customerId: a.id,
        loginName: "alpha",
        remoteAddress: "127.0.0.1",
        domainsRequested: ["alpha.example"],
        reply: "250 OK now reversing",
        endedAt: new Date(),
      },
      {
        loginId: ids.bLogin,
        customerId: b.id,
        loginName: "beta",
        remoteAddress: "127.0.0.2",
        domainsRequested: ["beta.example"],
        reply: "450 busy",
        endedAt: new Date(),
      },
    ],
  });
  portal = await startPortal({ databaseUrl: env.url, dataDir: env.dataDir });
});

afterAll(async () => {
  await portal?.stop();
});

describe("authentication and scopes", () => {
  it("answers 401 without a valid token, whatever is wrong with it", async () => {
    const refusals: Record<string, string>[] = [
      {},
      { authorization: "Basic YWRtaW46YWRtaW4=" },
      { authorization: "Bearer" },
      { authorization: "Bearer not-a-token" },
      { authorization: `Bearer mh_${"x".repeat(40)}` },
    ];
    for (const headers of refusals) {
      const answer = await call(null, "GET", "/customers", undefined, headers);
      expectError(answer, 401, "AUTH_FAILED");
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer /);
    }
    // a portal session cookie is no substitute for a token
    expectError(await call(null, "GET", "/customers", undefined, { cookie: "next-auth.session-token=whatever" }), 401, "AUTH_FAILED");
  });

  it("refuses a revoked token with 401 from the next call on", async () => {
    const { secret } = await createApiToken(CLI_ACTOR, { name: "short-lived", scopes: ["read"] });
    expect((await call(secret, "GET", "/customers")).status).toBe(200);
    await revokeApiToken(CLI_ACTOR, "short-lived");
    expectError(await call(secret, "GET", "/customers"), 401, "AUTH_FAILED");
  });

  it("refuses writes to a read-only token (403) and changes nothing; reads need the read scope", async () => {
    expectError(await call(t.read, "POST", "/customers", { name: "Sneaky" }), 403, "FORBIDDEN");
    expectError(await call(t.read, "PATCH", `/domains/${ids.aDomain}`, { retentionDays: 5 }), 403, "FORBIDDEN");
    expectError(await call(t.read, "POST", `/logins/alpha/disable`), 403, "FORBIDDEN");
    expectError(await call(t.read, "POST", `/domains/beta.example/deliver-now`), 403, "FORBIDDEN");
    expectError(await call(t.read, "POST", `/domains/alpha.example/recipients`, { addresses: ["new@alpha.example"] }), 403, "FORBIDDEN");
    expect(await getDb().customer.count({ where: { name: "Sneaky" } })).toBe(0);
    expect((await getDb().domain.findUniqueOrThrow({ where: { id: ids.aDomain } })).retentionDays).toBe(30);
    expect((await call(t.read, "GET", "/customers")).status).toBe(200);
    expectError(await call(t.provision, "GET", "/customers"), 403, "FORBIDDEN");
    // provision does not include queue
    expectError(await call(t.provision, "POST", `/domains/beta.example/deliver-now`), 403, "FORBIDDEN");
  });

  it("records the token's last use", async () => {
    await call(t.read, "GET", "/sessions");
    const row = await getDb().apiToken.findUniqueOrThrow({ where: { name: "reporting" } });
    expect(Date.now() - row.lastUsedAt!.getTime()).toBeLessThan(30_000);
  });
});

describe("customers", () => {
  it("lists, creates, reads, suspends and resumes", async () => {
    const list = await call(t.all, "GET", "/customers?search=alpha");
    expect(list.status).toBe(200);
    expect(list.json).toEqual({
      total: 1,
      items: [expect.objectContaining({ id: ids.a, name: "Alpha Ltd", status: "active", domainCount: 1, loginCount: 1 })],
    });

    const created = await call(t.all, "POST", "/customers", { name: "Gamma GmbH", email: "Ops@Gamma.Example" });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.any(String),
      name: "Gamma GmbH",
      email: "ops@gamma.example",
      status: "active",
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    });
    expect((await call(t.all, "GET", `/customers/${created.json.id}`)).json.name).toBe("Gamma GmbH");
    expect((await call(t.all, "GET", `/customers/${encodeURIComponent("Gamma GmbH")}`)).json.id).toBe(created.json.id);

    const suspended = await call(t.all, "POST", `/customers/${created.json.id}/suspend`);
    expect([suspended.status, suspended.json.status]).toEqual([200, "suspended"]);
    expect((await getDb().customer.findUniqueOrThrow({ where: { id: created.json.id } })).status).toBe("suspended");
    const resumed = await call(t.all, "POST", `/customers/${created.json.id}/resume`);
    expect([resumed.status, resumed.json.status]).toEqual([200, "active"]);
  });

  it("refuses bad input with 400 and a field, a taken name with 409, a missing one with 404", async () => {
    const noName = await call(t.all, "POST", "/customers", { email: "a@b.example" });
    expectError(noName, 400, "INVALID_INPUT");
    expect(noName.json.error.message).toMatch(/^name: /);
    expectError(await call(t.all, "POST", "/customers", { name: "X", email: "not an address" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/customers", { name: "X", colour: "blue" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/customers", { name: 42 }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/customers", "{not json"), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/customers", "[1,2]"), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/customers", "name=X", { "content-type": "application/x-www-form-urlencoded" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/customers"), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/customers", "x".repeat(3 * 1024 * 1024)), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/customers", { name: "Alpha Ltd" }), 409, "CONFLICT");
    expectError(await call(t.all, "GET", "/customers?limit=0"), 400, "INVALID_INPUT");
    expectError(await call(t.all, "GET", "/customers?sort=name"), 400, "INVALID_INPUT");
    expectError(await call(t.all, "GET", "/customers?search=a&search=b"), 400, "INVALID_INPUT");
    expectError(await call(t.all, "GET", `/customers/${MISSING_ID}`), 404, "NOT_FOUND");
    expectError(await call(t.all, "POST", `/customers/${MISSING_ID}/suspend`), 404, "NOT_FOUND");
    expectError(await call(t.all, "POST", `/customers/${ids.a}/suspend`, { now: true }), 400, "INVALID_INPUT");
    expect((await call(t.all, "DELETE", `/customers/${ids.a}`)).status).toBe(405);
  });
});

describe("logins", () => {
  it("creates a login whose secret is returned once, rotates it, disables and enables it", async () => {
    const created = await call(t.all, "POST", "/logins", { customer: "Alpha Ltd", login: "alpha-two" });
    expect(created.status).toBe(201);
    expect(created.json.login).toMatchObject({ login: "alpha-two", customerId: ids.a, customerName: "Alpha Ltd", status: "active", domains: "all" });
    const secret: string = created.json.secret;
    expect((await verifyOdmrPassword("alpha-two", secret)).ok).toBe(true);
    const read = await call(t.all, "GET", `/logins/${created.json.login.id}`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.json)).not.toContain(secret);
    expect(Object.keys(read.json.secrets[0]).sort()).toEqual(["createdAt", "expiresAt", "id"]);

    const rotated = await call(t.all, "POST", "/logins/alpha-two/rotate", { keepOldHours: 0 });
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).not.toBe(secret);
    expect((await verifyOdmrPassword("alpha-two", rotated.json.secret)).ok).toBe(true);
    expect((await verifyOdmrPassword("alpha-two", secret)).ok).toBe(false);
    const defaulted = await call(t.all, "POST", "/logins/alpha-two/rotate");
    expect(defaulted.status).toBe(200);
    expect(new Date(defaulted.json.oldSecretsExpireAt).getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);

    expect((await call(t.all, "POST", "/logins/alpha-two/disable")).json.status).toBe("disabled");
    expect((await verifyOdmrPassword("alpha-two", defaulted.json.secret)).ok).toBe(false);
    expect((await call(t.all, "POST", "/logins/alpha-two/enable")).json.status).toBe("active");

    const list = await call(t.all, "GET", "/logins?customer=Alpha%20Ltd");
    expect(list.json.items.map((l: { login: string }) => l.login)).toEqual(["alpha", "alpha-two"]);
  });

  it("refuses bad input", async () => {
    expectError(await call(t.all, "POST", "/logins", { customer: "Alpha Ltd", login: "-bad login" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/logins", { customer: "Alpha Ltd", login: "ok", secret: "short" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/logins", { customer: "Nobody", login: "nobody" }), 404, "NOT_FOUND");
    expectError(await call(t.all, "POST", "/logins", { customer: "Alpha Ltd", login: "beta" }), 409, "CONFLICT");
    expectError(await call(t.all, "POST", "/logins/alpha/rotate", { keepOldHours: -1 }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/logins/alpha/rotate", { keepOld: 1 }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "GET", "/logins/nobody"), 404, "NOT_FOUND");
    expectError(await call(t.all, "POST", "/logins/nobody/disable"), 404, "NOT_FOUND");
    expectError(await call(t.all, "GET", "/logins?customer=Nobody"), 404, "NOT_FOUND");
  });
});

describe("domains and recipients", () => {
  it("creates a domain, reads it, changes its settings, lists it with held counts", async () => {
    const created = await call(t.all, "POST", "/domains", {
      customer: ids.a,
      name: "Shop.Alpha.Example",
      recipients: ["sales", "ops@shop.alpha.example"],
      retentionDays: 10,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: "shop.alpha.example",
      customerId: ids.a,
      recipientPolicy: "listed",
      retentionDays: 10,
      etrnEnabled: false,
      etrnRequestedAt: null,
    });
    expect((await call(t.all, "GET", "/domains/shop.alpha.example")).json.id).toBe(created.json.id);

    const patched = await call(t.all, "PATCH", `/domains/${created.json.id}`, {
      etrnTarget: "127.0.0.1:2526",
      etrnEnabled: true,
      etrnFrom: ["192.0.2.0/24"],
      acceptInbound: false,
      recipientDelimiter: "+-",
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      etrnEnabled: true,
      etrnTarget: "127.0.0.1:2526",
      etrnFrom: ["192.0.2.0/24"],
      acceptInbound: false,
      retentionDays: 10,
      recipientDelimiter: "+-",
    });

    const list = await call(t.all, "GET", `/domains?customer=${ids.a}`);
    expect(list.json.items.map((d: { name: string; held: number; recipientCount: number }) => [d.name, d.held, d.recipientCount])).toEqual([
      ["alpha.example", 1, 1],
      ["shop.alpha.example", 0, 2],
    ]);
  });

  it("refuses bad domain input", async () => {
    expectError(await call(t.all, "POST", "/domains", { customer: ids.a, name: "no_dots" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/domains", { customer: ids.a, name: "etrn.alpha.example", etrnEnabled: true }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/domains", { customer: ids.a, name: "beta.example" }), 409, "CONFLICT");
    expectError(await call(t.all, "POST", "/domains", { customer: MISSING_ID, name: "new.example" }), 404, "NOT_FOUND");
    expectError(await call(t.all, "PATCH", "/domains/alpha.example", { retentionDays: 0 }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "PATCH", "/domains/alpha.example", { etrnTarget: "no port" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "PATCH", "/domains/alpha.example", { retention: 5 }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "PATCH", "/domains/alpha.example", { acceptInbound: "yes" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "PATCH", "/domains/alpha.example", { recipientDelimiter: "#" }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "PATCH", "/domains/missing.example", { retentionDays: 5 }), 404, "NOT_FOUND");
    expectError(await call(t.all, "GET", "/domains/missing.example"), 404, "NOT_FOUND");
  });

  it("adds and removes recipients in bulk, reporting each address", async () => {
    const added = await call(t.all, "POST", "/domains/alpha.example/recipients", {
      addresses: ["a@alpha.example", "B", "info@alpha.example", "x@elsewhere.example", "not an address"],
    });
    expect(added.status).toBe(200);
    expect(added.json.added.sort()).toEqual(["a@alpha.example", "b@alpha.example"]);
    expect(added.json.existing).toEqual(["info@alpha.example"]);
    expect(added.json.rejected.map((r: { input: string }) => r.input)).toEqual(["x@elsewhere.example", "not an address"]);
    expect((await call(t.all, "GET", "/domains/alpha.example/recipients")).json.items.map((r: { address: string }) => r.address)).toEqual([
      "a@alpha.example",
      "b@alpha.example",
      "info@alpha.example",
    ]);

    const removed = await call(t.all, "POST", "/domains/alpha.example/recipients/remove", { addresses: ["A@alpha.example", "b", "never@alpha.example"] });
    expect(removed.status).toBe(200);
    expect(removed.json).toEqual({ removed: ["a@alpha.example", "b@alpha.example"], missing: ["never@alpha.example"] });
    expect(await getDb().recipient.count({ where: { domainId: ids.aDomain } })).toBe(1);
    // the portal's one-address removal is the same rule
    await removeRecipient(CLI_ACTOR, "alpha.example", "info@alpha.example");
    await expect(removeRecipient(CLI_ACTOR, "alpha.example", "info@alpha.example")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await addRecipients(CLI_ACTOR, "alpha.example", ["info@alpha.example"]);

    expectError(await call(t.all, "POST", "/domains/alpha.example/recipients", { addresses: [] }), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/domains/alpha.example/recipients", { addresses: "a@alpha.example" }), 400, "INVALID_INPUT");
    expectError(
      await call(t.all, "POST", "/domains/alpha.example/recipients", { addresses: Array.from({ length: 10_001 }, (_, i) => `u${i}`) }),
      400,
      "INVALID_INPUT",
    );
    expectError(await call(t.all, "POST", "/domains/missing.example/recipients/remove", { addresses: ["a"] }), 404, "NOT_FOUND");
  });
});

describe("queue, deliver-now, sessions", () => {
  it("lists the queue with the CLI's filters", async () => {
    const all = await call(t.read, "GET", "/queue");
    expect(all.status).toBe(200);
    expect(all.json.total).toBe(3);
    expect(all.json.items[0]).toMatchObject({
      mailFrom: "sender2@origin.example",
      deliveries: [{ recipient: "y@beta.example", domain: "beta.example", customer: "Beta Ltd", state: "queued", attempts: 0, lastError: null }],
    });
    const page = await call(t.read, "GET", "/queue?domain=beta.example&limit=1");
    expect([page.json.total, page.json.items.length]).toEqual([2, 1]);
    const next = await call(t.read, "GET", `/queue?domain=beta.example&limit=1&before=${page.json.olderCursor}`);
    expect(next.json.items[0].mailFrom).toBe("sender1@origin.example");
    expect((await call(t.read, "GET", "/queue?state=delivered")).json.total).toBe(0);
    expect((await call(t.read, "GET", "/queue?sender=sender0")).json.total).toBe(1);
    expectError(await call(t.read, "GET", "/queue?state=lost"), 400, "INVALID_INPUT");
    expectError(await call(t.read, "GET", "/queue?limit=5000"), 400, "INVALID_INPUT");
    expectError(await call(t.read, "GET", "/queue?domain=missing.example"), 404, "NOT_FOUND");
  });

  it("asks for delivery now, for a domain with ETRN only", async () => {
    const released = await call(t.all, "POST", "/domains/beta.example/deliver-now");
    expect(released.status).toBe(202);
    expect(released.json).toEqual({ domainId: ids.bDomain, domain: "beta.example", requestedAt: expect.stringMatching(/Z$/) });
    const row = await getDb().domain.findUniqueOrThrow({ where: { id: ids.bDomain } });
    expect(row.etrnRequestedAt).not.toBeNull();
    expect(row.etrnRequestedBy).toBe("staff: api:billing");
    expectError(await call(t.all, "POST", "/domains/alpha.example/deliver-now"), 400, "INVALID_INPUT");
    expectError(await call(t.all, "POST", "/domains/missing.example/deliver-now"), 404, "NOT_FOUND");
  });

  it("lists sessions with filters", async () => {
    const all = await call(t.read, "GET", "/sessions");
    expect(all.status).toBe(200);
    expect(all.json.items.map((s: { loginName: string; result: string }) => [s.loginName, s.result]).sort()).toEqual([
      ["alpha", "released"],
      ["beta", "refused"],
    ]);
    expect((await call(t.read, "GET", "/sessions?result=refused")).json.items.map((s: { customerName: string }) => s.customerName)).toEqual(["Beta Ltd"]);
    expectError(await call(t.read, "GET", "/sessions?result=maybe"), 400, "INVALID_INPUT");
    expectError(await call(t.read, "GET", "/sessions?limit=abc"), 400, "INVALID_INPUT");
  });
});

describe("a customer's token", () => {
  it("reaches its own objects and nothing of another customer: their ids answer exactly like missing ones", async () => {
    expect((await call(t.a, "GET", `/customers/${ids.a}`)).status).toBe(200);
    for (const [other, missing] of [
      [`/customers/${ids.b}`, `/customers/${MISSING_ID}`],
      ["/customers/Beta%20Ltd", "/customers/Nobody"],
      [`/domains/${ids.bDomain}`, `/domains/${MISSING_ID}`],
      ["/domains/beta.example", "/domains/missing.example"],
      ["/domains/beta.example/recipients", "/domains/missing.example/recipients"],
      [`/logins/${ids.bLogin}`, `/logins/${MISSING_ID}`],
      ["/logins/beta", "/logins/nobody"],
      [`/logins?customer=${ids.b}`, `/logins?customer=${MISSING_ID}`],
      [`/domains?customer=${ids.b}`, `/domains?customer=${MISSING_ID}`],
      ["/queue?domain=beta.example", "/queue?domain=missing.example"],
    ]) {
      const [theirs, none] = [await call(t.a, "GET", other), await call(t.a, "GET", missing)];
      expectError(theirs, 404, "NOT_FOUND");
      // the same words, apart from the reference quoted back
      const shape = (message: string) => message.replace(/"[^"]*"/g, '"…"');
      expect(shape(theirs.json.error.message)).toBe(shape(none.json.error.message));
    }
    for (const [other, missing] of [
      ["/logins/beta/rotate", "/logins/nobody/rotate"],
      ["/domains/beta.example/deliver-now", "/domains/missing.example/deliver-now"],
    ]) {
      expectError(await call(t.a, "POST", other), 404, "NOT_FOUND");
      expectError(await call(t.a, "POST", missing), 404, "NOT_FOUND");
    }
    expect((await getDb().domain.findUniqueOrThrow({ where: { id: ids.bDomain } })).etrnRequestedBy).toBe("staff: api:billing");

    // listings hold its own objects only
    expect((await call(t.a, "GET", "/domains")).json.items.map((d: { customerId: string }) => d.customerId)).not.toContain(ids.b);
    expect((await call(t.a, "GET", "/logins")).json.items.every((l: { customerId: string }) => l.customerId === ids.a)).toBe(true);
    const queue = await call(t.a, "GET", "/queue");
    expect([queue.json.total, queue.json.items[0].deliveries[0].customer]).toEqual([1, "Alpha Ltd"]);
    expect((await call(t.a, "GET", `/queue?customerId=${ids.b}`)).json.total).toBe(0);
    expect((await call(t.a, "GET", "/sessions")).json.items.map((s: { loginName: string }) => s.loginName)).toEqual(["alpha"]);
    expect((await call(t.a, "GET", `/sessions?customerId=${ids.b}`)).json.items).toEqual([]);
  });

  it("may do what a customer may (rotate its logins, deliver now), not what only the ISP does", async () => {
    const rotated = await call(t.a, "POST", "/logins/alpha/rotate", { keepOldHours: 1 });
    expect(rotated.status).toBe(200);
    expect((await verifyOdmrPassword("alpha", rotated.json.secret)).ok).toBe(true);
    for (const [method, route, body] of [
      ["GET", "/customers", undefined],
      ["POST", "/customers", { name: "Mine" }],
      ["POST", `/customers/${ids.a}/suspend`, undefined],
      ["POST", `/customers/${ids.b}/suspend`, undefined],
      ["POST", "/logins", { customer: ids.a, login: "mine" }],
      ["POST", "/logins/beta/disable", undefined],
      ["POST", "/logins/alpha/disable", undefined],
      ["PATCH", "/domains/beta.example", { retentionDays: 5 }],
      ["PATCH", "/domains/alpha.example", { retentionDays: 5 }],
      ["POST", "/domains/beta.example/recipients", { addresses: ["z"] }],
    ] as const) {
      expectError(await call(t.a, method, route, body), 403, "FORBIDDEN");
    }
    expect((await getDb().customer.findUniqueOrThrow({ where: { id: ids.b } })).status).toBe("active");
    expect((await getDb().domain.findUniqueOrThrow({ where: { id: ids.bDomain } })).retentionDays).toBe(30);
    // its read-only sibling may not rotate
    expectError(await call(t.aRead, "POST", "/logins/alpha/rotate"), 403, "FORBIDDEN");
  });
});

describe("audit", () => {
  it("records every authenticated call with the token's name, and changes under the token", async () => {
    await call(t.all, "POST", "/customers", { name: "Audited Co" });
    await call(t.read, "POST", "/customers", { name: "Refused Co" });
    const calls = await getDb().auditEvent.findMany({ where: { action: "api.call" }, orderBy: { id: "asc" } });
    const last = (name: string) => calls.filter((c) => (c.details as { token: string }).token === name).at(-1)!;
    expect(last("billing")).toMatchObject({
      actorLabel: "api:billing",
      objectType: "api_token",
      details: { token: "billing", method: "POST", path: "/api/v1/customers", status: 201 },
    });
    expect(last("reporting")).toMatchObject({ actorLabel: "api:reporting", details: { token: "reporting", method: "POST", status: 403, code: "FORBIDDEN" } });
    const alpha = last("alpha-self");
    expect(alpha.customerId).toBe(ids.a);
    const change = await getDb().auditEvent.findFirstOrThrow({ where: { action: "customer.create", actorLabel: "api:billing" }, orderBy: { id: "desc" } });
    expect(change.details).toMatchObject({ name: "Audited Co" });
    expect(change.actorId).toBe((await getDb().apiToken.findUniqueOrThrow({ where: { name: "billing" } })).id);
  });
});

describe("OpenAPI document and unknown paths", () => {
  function routeFiles(dir: string, prefix = ""): { path: string; methods: string[] }[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      if (entry.name.startsWith("_") || entry.name.startsWith("[...")) return [];
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return routeFiles(full, `${prefix}/${entry.name.replace(/^\[(\w+)\]$/, "{$1}")}`);
      if (entry.name !== "route.ts") return [];
      const methods = [...fs.readFileSync(full, "utf8").matchAll(/export const (GET|POST|PATCH|PUT|DELETE)\b/g)].map((m) => m[1].toLowerCase());
      return [{ path: prefix, methods }];
    });
  }

  it("is public, parses as OpenAPI 3.1 and lists every route with its method", async () => {
    const response = await fetch(`${portal.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const doc = JSON.parse(await response.text());
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const files = routeFiles(path.join(PROJECT_ROOT, "app", "api", "v1")).filter((f) => f.path !== "/openapi.json");
    const fromFiles = files.flatMap((f) => f.methods.map((m) => `${m} ${f.path}`)).sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))
      .sort();
    expect(documented).toEqual(fromFiles);
    expect(fromFiles.length).toBe(21);
    for (const ops of Object.values(doc.paths as Record<string, Record<string, { "x-scope": string; responses: Record<string, unknown> }>>)) {
      for (const op of Object.values(ops)) {
        expect(["read", "provision", "queue"]).toContain(op["x-scope"]);
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["401", "403", "404"]));
      }
    }
    expect(doc.paths["/domains/{id}"].patch.requestBody.content["application/json"].schema.properties.retentionDays).toMatchObject({
      type: "integer",
      minimum: 1,
      maximum: 3650,
    });
    expect(doc.paths["/domains/{id}"].patch.requestBody.content["application/json"].schema.properties.recipientDelimiter).toMatchObject({ type: "string" });
  });

  it("answers an unknown path in the API's error format", async () => {
    expectError(await call(t.all, "GET", "/nothing/here"), 404, "NOT_FOUND");
  });
});
