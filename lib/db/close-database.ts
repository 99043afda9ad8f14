// Closes both of this process's database clients: the Prisma client (client.ts) and the pg pools
// (pg-pool.ts). Every process that ends (the mailer, `npm start`'s supervisor after its start-up
// work, the CLI, the scripts, each test file) closes its database here, so neither is forgotten:
// open connections keep a process alive and take PostgreSQL's max_connections from others. Both
// clients open again on their next query.
import { closeDb } from "./client.ts";
import { closePgPools } from "./pg-pool.ts";

export async function closeDatabase(): Promise<void> {
  // both are closed even when one of them fails to close; the first failure is thrown after
  const results = await Promise.allSettled([closeDb(), closePgPools()]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
