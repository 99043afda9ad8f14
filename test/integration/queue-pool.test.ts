// The MX's 250 promises the message is on disk: intake must commit with synchronous_commit on.
// Only the delivery hot path may commit asynchronously (a lost result means a re-delivery).
import { expect, it } from "vitest";
import { queueQuery, queueTransaction } from "../../lib/db/pg-pool.ts";
import { useTestDatabase } from "../helpers/database.ts";

useTestDatabase();

it("commits durably by default and asynchronously only when asked", async () => {
  expect((await queueQuery<{ synchronous_commit: string }>("SHOW synchronous_commit"))[0].synchronous_commit).toBe("on");
  expect(await queueTransaction(async (q) => (await q<{ synchronous_commit: string }>("SHOW synchronous_commit"))[0].synchronous_commit)).toBe("on");
  expect((await queueQuery<{ synchronous_commit: string }>("SHOW synchronous_commit", [], undefined, "relaxed"))[0].synchronous_commit).toBe("off");
  expect((await queueQuery<{ TimeZone: string }>("SHOW timezone"))[0].TimeZone).toBe("UTC");
});
