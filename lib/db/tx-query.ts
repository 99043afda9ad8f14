// A Prisma interactive transaction as a QueryFn, for the core functions written against the pg
// pool's query shape (purgeUnneededBodies, storeDsns) that a Prisma transaction also has to run.
import type { Tx } from "./client.ts";
import type { QueryFn } from "./pg-pool.ts";

/** Prisma prepares its own statements: a statement's name is not used. */
export function txQuery(tx: Tx): QueryFn {
  return async (sql, params = []) => tx.$queryRawUnsafe(sql, ...params);
}
