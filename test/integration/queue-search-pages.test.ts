// The queue's pages past the count cap and within it: more matches than COUNT_CAP are paged by
// walking the queue newest first, fewer are taken from the list the count made. Both give the same
// pages, and a customer whose few matches sit among another customer's many sees only its own.
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../lib/actor.ts";
import { COUNT_CAP, searchQueue, type QueueSearch } from "../../lib/queue/search-queue.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { bulkHold, customerActor, makeCustomer, STAFF_ACTOR as STAFF } from "../helpers/fixtures.ts";

useTestDatabase();

/** Every page from the newest, then back again from the oldest page; the ids as they came. */
async function pageThrough(actor: Actor, filter: QueueSearch, limit = 50) {
  const pages: string[][] = [];
  let page = await searchQueue(actor, { ...filter, limit });
  const first = page;
  pages.push(page.items.map((m) => m.id));
  while (page.olderCursor) {
    page = await searchQueue(actor, { ...filter, limit, before: page.olderCursor });
    pages.push(page.items.map((m) => m.id));
  }
  const back: string[][] = [];
  while (page.newerCursor) {
    page = await searchQueue(actor, { ...filter, limit, after: page.newerCursor });
    back.unshift(page.items.map((m) => m.id));
  }
  return { first, pages, back };
}

describe("queue pages past the count cap and within it", () => {
  const own: string[] = [];
  const others: string[] = [];
  let alpha: Actor;

  beforeAll(async () => {
    const a = await makeCustomer("Alpha", ["alpha.example"]);
    const b = await makeCustomer("Beta", ["beta.example"]);
    // Beta's mail first (older ids), then Alpha's few, then more of Beta's: the same mailbox name in both
    others.push(...(await bulkHold(b, "beta.example", COUNT_CAP, 1, "B0")));
    own.push(...(await bulkHold(a, "alpha.example", 120, 1, "B1")));
    others.push(...(await bulkHold(b, "beta.example", 30, 1, "B2")));
    alpha = customerActor(a);
  });

  it("past the cap: counted as capped, paged newest first and back with the same rows", async () => {
    const all = [...others.slice(0, COUNT_CAP), ...own, ...others.slice(COUNT_CAP)].reverse();
    const { first, pages, back } = await pageThrough(STAFF, { recipient: "r1@" }, 1000);
    expect(first).toMatchObject({ count: COUNT_CAP, countCapped: true });
    expect(pages.flat()).toEqual(all);
    expect(back).toEqual(pages.slice(0, -1));
  });

  it("within the cap: the customer's own matches only, the same pages as a walk would give", async () => {
    const { first, pages, back } = await pageThrough(alpha, { recipient: "r1@" });
    expect(first).toMatchObject({ count: own.length, countCapped: false });
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    expect(pages.flat()).toEqual([...own].reverse());
    expect(back).toEqual(pages.slice(0, -1));
    expect(first.items.flatMap((m) => m.deliveries.map((d) => d.recipient))).toEqual(Array(50).fill("r1@alpha.example"));
    // the staff, narrowed to that customer, page the same
    expect((await pageThrough(STAFF, { recipient: "r1@", customerId: first.items[0].deliveries[0].customerId })).pages).toEqual(pages);
  });
});
