// closeDatabase() closes both of the process's database clients, the Prisma client and the two pg
// pools (durable and relaxed), so a process that ends leaves no connection behind in PostgreSQL.
// Each test file has a database of its own: any backend still connected to it is one of ours.
import pg from "pg";
import { expect, it } from "vitest";
import { getDb } from "../../lib/db/client.ts";
import { closeDatabase } from "../../lib/db/close-database.ts";
import { queueQuery } from "../../lib/db/pg-pool.ts";
import { useTestDatabase } from "../helpers/database.ts";

const env = useTestDatabase();

type Client = "prisma" | "durable pool" | "relaxed pool";

/** Makes each client open a connection; the server process id of each. */
async function openAll(): Promise<Map<number, Client>> {
  const [prisma] = await getDb().$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  const [durable] = await queueQuery<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const [relaxed] = await queueQuery<{ pid: number }>("SELECT pg_backend_pid() AS pid", [], undefined, "relaxed");
  return new Map([
    [prisma.pid, "prisma"],
    [durable.pid, "durable pool"],
    [relaxed.pid, "relaxed pool"],
  ]);
}

/** The backends connected to this file's database, other than the one asking. */
async function connected(): Promise<number[]> {
  const watcher = new pg.Client({ connectionString: env.url });
  await watcher.connect();
  try {
    const { rows } = await watcher.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
    return rows.map((r) => r.pid);
  } finally {
    await watcher.end();
  }
}

/** A backend leaves pg_stat_activity shortly after its client says goodbye: wait up to 5 s. */
async function connectedAfterSettling(): Promise<number[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const pids = await connected();
    if (pids.length === 0 || Date.now() > deadline) return pids;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it("closes the Prisma client and both pg pools: no connection to the database is left", async () => {
  const opened = await openAll();
  expect(new Set(opened.values()).size).toBe(3);
  // the watcher sees the connections it is meant to see
  expect(await connected()).toEqual(expect.arrayContaining([...opened.keys()]));

  await closeDatabase();

  const left = await connectedAfterSettling();
  expect(left.map((pid) => opened.get(pid) ?? `another connection (pid ${pid})`)).toEqual([]);
});

it("opens both clients again on the next query after closing", async () => {
  const before = await openAll();
  await closeDatabase();
  const after = await openAll();
  expect([...after.keys()].filter((pid) => before.has(pid))).toEqual([]);
  expect([...after.values()].sort()).toEqual(["durable pool", "prisma", "relaxed pool"]);
});
