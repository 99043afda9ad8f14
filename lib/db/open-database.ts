// Where the data lives: DATABASE_URL when set, else the embedded PostgreSQL in the data directory.
import { useDatabaseUrl } from "./database-url.ts";
import { openEmbeddedDatabase } from "./embedded-postgres.ts";
import { migrateDatabase } from "./migrate.ts";
import type { Config } from "../config/config.ts";

export interface OpenDatabase {
  url: string;
  embedded: boolean;
  /** the embedded server's process and cluster directory */
  server?: { pid: number; cluster: string };
  /** stops the embedded server if this process is responsible for it */
  stop(): Promise<void>;
}

/** Opens the database `config` names (migrated unless `migrate: false`); this process's clients then use it. */
export async function openDatabase(
  config: Pick<Config, "dataDir" | "DATABASE_URL">,
  options: { adopt?: boolean; migrate?: boolean } = {},
): Promise<OpenDatabase> {
  let result: OpenDatabase;
  if (config.DATABASE_URL) {
    result = { url: config.DATABASE_URL, embedded: false, stop: async () => undefined };
  } else {
    const embedded = await openEmbeddedDatabase(config.dataDir, { adopt: options.adopt });
    result = { url: embedded.url, embedded: true, server: { pid: embedded.pid, cluster: embedded.cluster }, stop: embedded.stop };
  }
  if (options.migrate !== false) await migrateDatabase(result.url);
  useDatabaseUrl(result.url);
  return result;
}
