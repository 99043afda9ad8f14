// The second way to PostgreSQL: pg directly, beside the Prisma client (client.ts). The rule for
// which one a core function uses:
// - Prisma's model API is the default: typed rows, the secret columns omitted (client.ts), the
//   tenant in every `where` through customerScope (lib/actor.ts).
// - Prisma's tagged raw SQL ($queryRaw) where the query builder cannot say it (FOR UPDATE SKIP
//   LOCKED, unnest, one set-based UPDATE … RETURNING) and the statement is not on a hot path:
//   portal searches, bulk queue actions, the dashboard.
// - This pool, for three kinds of work only: (1) the per-message and per-recipient statements of
//   intake and delivery (storing a message, the recipient check, claims, per-message results and
//   bounce protection's judgement of them, lease renewal, the ATRN and ETRN decisions and the
//   collectable-domains rule they rest on (which the connection guide lists too), ETRN run
//   markers and targets, the ODMR session records written beside them), where cost per
//   statement is throughput: measured on the development machine, a Prisma raw query costs
//   about 0.4 ms more than the same query through pg and an interactive transaction about 2 ms,
//   which alone would hold an ATRN session below 1,000 messages per second, and a session
//   record's update with its transcript about 10 ms of CPU; (2) what needs a connection of its own: a session-level
//   advisory lock (withAdvisoryLock), LISTEN (change-listener.ts, a client of its own) or synchronous_commit=off (the "relaxed" pool below);
//   (3) housekeeping's set-based batches over many rows (expiry, purge, delayed-mail warnings,
//   notifications, DSN sending) and the held-mail metrics.
//   SQL here has no customerScope: a function reachable from the portal or the CLI takes the Actor
//   and writes the customer condition into its own WHERE.
// closeDatabase() (close-database.ts) closes both clients; a process that ends closes it there.
//
// Two pools. "durable" (the default) commits as the server is configured (synchronous_commit on):
// the MX's 250 to DATA promises the sender the message is on disk, so intake uses it. "relaxed"
// commits with synchronous_commit=off (a commit returns once it is in PostgreSQL's WAL buffers;
// the WAL writer puts it on disk within a few hundred milliseconds) and serves only the delivery
// hot path — claims, per-message results, lease renewal and release — which makes no promise to
// anyone outside: if the *database server* crashes, the last moments of results are forgotten and
// those deliveries are simply offered again (a customer may get a message twice; nothing is lost).
// A mailer crash loses nothing either way (the server has the commit).
import pg from "pg";
import { databasePoolSize, databaseUrl } from "./database-url.ts";
import { classifyCountedDbError } from "../metrics/metrics.ts";

// Timestamps are `timestamp(3)` without time zone holding UTC (Prisma's convention): read them
// as UTC whatever the process's time zone, and make now() write UTC (TimeZone below).
const TIMESTAMP_OID = 1114;
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === TIMESTAMP_OID && format !== "binary") return (value: string) => new Date(value.replace(" ", "T") + "Z");
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export type Durability = "durable" | "relaxed";

const globalForPool = globalThis as unknown as { mailharborQueuePools?: { url: string; pools: Partial<Record<Durability, pg.Pool>> } };

function pool(durability: Durability): pg.Pool {
  const url = databaseUrl();
  if (globalForPool.mailharborQueuePools?.url !== url) globalForPool.mailharborQueuePools = { url, pools: {} };
  const pools = globalForPool.mailharborQueuePools.pools;
  const existing = pools[durability];
  if (existing) return existing;
  const created = new pg.Pool({
    connectionString: url,
    max: databasePoolSize(),
    options: durability === "relaxed" ? "-c TimeZone=UTC -c synchronous_commit=off" : "-c TimeZone=UTC",
    types,
    // idle connections must not keep a CLI or test process alive
    allowExitOnIdle: true,
    connectionTimeoutMillis: 10_000,
    // a database that hangs rather than fails must still produce a 4xx (451 to ATRN, 451 at DATA)
    // in time: every statement here is one indexed batch, far below these limits
    statement_timeout: 60_000,
    query_timeout: 65_000,
  });
  // an idle connection that the server drops (restart, admin) must not crash the mailer
  created.on("error", () => undefined);
  pools[durability] = created;
  return created;
}

// A deadlock (two sessions claiming overlapping multi-domain messages) or a serialization
// failure aborts the whole statement or transaction, so running it again is safe.
const RETRYABLE = new Set(["40P01", "40001"]);
const ATTEMPTS = 3;

function retryable(error: unknown): boolean {
  return RETRYABLE.has(String((error as { code?: string })?.code));
}

/**
 * One statement, its errors turned into MailharborError codes (DB_UNAVAILABLE …). A `name` makes
 * it a prepared statement, parsed and planned once per connection: for the statements run once
 * per delivered message that planning is a third of their cost.
 */
export async function queueQuery<R extends pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
  name?: string,
  durability: Durability = "durable",
): Promise<R[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await pool(durability).query<R>({ text: sql, values: params, name })).rows;
    } catch (error) {
      if (attempt < ATTEMPTS && retryable(error)) continue;
      throw classifyCountedDbError(error);
    }
  }
}

/** One statement; `name` makes it a prepared statement where the connection allows (see queueQuery). */
export type QueryFn = <R extends pg.QueryResultRow>(sql: string, params?: unknown[], name?: string) => Promise<R[]>;

/** Runs `work` in one transaction on one connection; rolls back on any error. */
export async function queueTransaction<T>(work: (query: QueryFn) => Promise<T>, durability: Durability = "durable"): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool(durability).connect();
    } catch (error) {
      throw classifyCountedDbError(error);
    }
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await work(async (sql, params = [], name) => (await client.query({ text: sql, values: params, name })).rows);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      if (attempt < ATTEMPTS && retryable(error)) continue;
      throw classifyCountedDbError(error);
    } finally {
      client.release(broken);
    }
  }
}

export async function closePgPools(): Promise<void> {
  const current = globalForPool.mailharborQueuePools;
  globalForPool.mailharborQueuePools = undefined;
  await Promise.all(Object.values(current?.pools ?? {}).map((p) => p.end()));
}

/**
 * Runs `work` only if no other process holds the session-level advisory lock `key` (several mailer
 * instances may share one database); returns undefined without running it otherwise.
 */
export async function withAdvisoryLock<T>(key: number, work: () => Promise<T>): Promise<T | undefined> {
  let client: pg.PoolClient;
  try {
    client = await pool("durable").connect();
  } catch (error) {
    throw classifyCountedDbError(error);
  }
  let locked = false;
  let broken = false;
  try {
    locked = (await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [key])).rows[0].ok;
    if (!locked) return undefined;
    return await work();
  } catch (error) {
    throw classifyCountedDbError(error);
  } finally {
    // a connection that could not unlock is closed, which releases the lock with it
    if (locked) await client.query("SELECT pg_advisory_unlock($1)", [key]).catch(() => (broken = true));
    client.release(broken);
  }
}
