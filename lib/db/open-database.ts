// Where the data lives: DATABASE_URL when set, else the embedded PostgreSQL in the data directory.
import { openEmbeddedDatabase } from "./embedded-postgres.ts";
import { migrateDatabase } from "./migrate.ts";

export interface OpenDatabase {
  url: string;
  embedded: boolean;
  /** the embedded server's process and cluster directory */
  server?: { pid: number; cluster: string };
  /** stops the embedded server if this process is responsible for it */
  stop(): Promise<void>;
}

export async function openDatabase(options: { dataDir: string; adopt?: boolean; migrate?: boolean }): Promise<OpenDatabase> {
  let result: OpenDatabase;
  if (process.env.DATABASE_URL) {
    result = { url: process.env.DATABASE_URL, embedded: false, stop: async () => undefined };
  } else {
    const embedded = await openEmbeddedDatabase(options.dataDir, { adopt: options.adopt });
    result = { url: embedded.url, embedded: true, server: { pid: embedded.pid, cluster: embedded.cluster }, stop: embedded.stop };
  }
  if (options.migrate !== false) await migrateDatabase(result.url);
  process.env.DATABASE_URL = result.url;
  return result;
}
