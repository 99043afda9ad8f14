// The Prisma client. Secret columns (password hashes, sealed secrets, raw message bytes) are
// omitted from every query unless a query asks for them by name.
import { PrismaPg } from "@prisma/adapter-pg";
import { databasePoolSize, databaseUrl } from "./database-url.ts";
import { PrismaClient } from "./generated/client.ts";
import { classifyCountedDbError } from "../metrics/metrics.ts";

export { Prisma } from "./generated/client.ts";
export type * from "./generated/client.ts";

const OMIT = {
  portalUser: { passwordHash: true, totpSecretEnc: true },
  portalRecoveryCode: { codeHash: true },
  odmrSecret: { passwordHash: true, secretEnc: true },
  messageBody: { raw: true },
  dsn: { raw: true },
} as const;

export function createDb(url: string, poolSize = 10) {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }), omit: OMIT });
}

export type Db = ReturnType<typeof createDb>;
/** A transaction client, as passed to $transaction callbacks. */
export type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

const globalForDb = globalThis as unknown as { mailharborDb?: Db };

/** The process-wide client for the process's database (database-url.ts). */
export function getDb(): Db {
  if (!globalForDb.mailharborDb) {
    globalForDb.mailharborDb = createDb(databaseUrl(), databasePoolSize());
  }
  return globalForDb.mailharborDb;
}

export async function closeDb(): Promise<void> {
  const db = globalForDb.mailharborDb;
  globalForDb.mailharborDb = undefined;
  await db?.$disconnect();
}

/** Runs database work, turning driver failures into MailharborError codes (CONFLICT, DB_UNAVAILABLE …). */
export async function dbWork<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw classifyCountedDbError(error);
  }
}
