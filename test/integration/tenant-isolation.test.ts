import { describe, expect, it, beforeAll } from "vitest";
import type { Actor } from "../../lib/actor.ts";
import { getCustomer, updateCustomer } from "../../lib/customers/customers.ts";
import { createDomain, getDomain, listDomains } from "../../lib/domains/domains.ts";
import { getLogin, listLogins, rotateLogin } from "../../lib/logins/logins.ts";
import { searchQueue } from "../../lib/queue/search-queue.ts";
import { listRecipients } from "../../lib/recipients/recipients.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { customerActor, domainId, holdMessage, makeCustomer } from "../helpers/fixtures.ts";

useTestDatabase();

describe("tenant isolation in the shared core", () => {
  let a: { id: string }, b: { id: string };
  let actorA: Actor;
  let bDomainId = "",
    bLoginId = "";

  beforeAll(async () => {
    const alpha = await makeCustomer("Alpha", ["alpha.example"]);
    const beta = await makeCustomer("Beta", ["beta.example"]);
    [a, b] = [alpha, beta];
    bDomainId = domainId(beta, "beta.example");
    bLoginId = beta.loginId;
    await holdMessage([{ address: "u@alpha.example", customer: alpha }], Buffer.from("Subject: a\r\n\r\nA\r\n"), "x@sender.example");
    await holdMessage([{ address: "u@beta.example", customer: beta }], Buffer.from("Subject: b\r\n\r\nB\r\n"), "y@sender.example");
    actorA = customerActor(alpha, "a@alpha.example");
  });

  it("a customer reads its own objects", async () => {
    expect((await getCustomer(actorA, a.id)).name).toBe("Alpha");
    expect((await getDomain(actorA, "alpha.example")).customerId).toBe(a.id);
    expect((await getLogin(actorA, "alpha")).customerId).toBe(a.id);
  });

  it("the other customer's id finds nothing", async () => {
    await expect(getCustomer(actorA, b.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(getDomain(actorA, bDomainId)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(getDomain(actorA, "beta.example")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(getLogin(actorA, bLoginId)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(getLogin(actorA, "beta")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(listRecipients(actorA, bDomainId)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(rotateLogin(actorA, "beta")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("lists are confined to the customer, whatever filter it passes", async () => {
    const domains = await listDomains(actorA, { customerId: b.id });
    expect(domains.map((d) => d.name)).toEqual([]);
    expect((await listDomains(actorA)).map((d) => d.name)).toEqual(["alpha.example"]);
    expect((await listLogins(actorA, { customerId: b.id })).length).toBe(0);
    const queue = await searchQueue(actorA, { customerId: b.id });
    expect(queue.count).toBe(0);
    await expect(searchQueue(actorA, { domain: "beta.example" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    const own = await searchQueue(actorA);
    expect(own.count).toBe(1);
    expect(own.items[0].deliveries.map((d) => d.recipient)).toEqual(["u@alpha.example"]);
  });

  it("customers cannot change what only staff may", async () => {
    await expect(updateCustomer(actorA, a.id, { name: "Hacked" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(createDomain(actorA, { customer: a.id, name: "new.example" })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("a customer actor without a customer id is refused rather than unfiltered", async () => {
    const broken = { ...actorA, customerId: "" } as Actor;
    await expect(listDomains(broken)).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
