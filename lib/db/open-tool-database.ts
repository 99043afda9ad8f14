// For the CLI and the test tools: use the running service's database, or start the embedded one
// for the duration of the command and stop it afterwards (unless a service has come up meanwhile).
import { closeDatabase } from "./close-database.ts";
import { openDatabase } from "./open-database.ts";
import { runningServicePid } from "./service-lock.ts";
import { getConfig } from "../config/config.ts";

export async function openToolDatabase(): Promise<{ close(): Promise<void> }> {
  const config = getConfig();
  const { dataDir } = config;
  const database = await openDatabase(config);
  return {
    async close() {
      await closeDatabase();
      if (!runningServicePid(dataDir)) await database.stop();
    },
  };
}
