// The mailer's connection that hears of changes to recipient decisions (lib/db/change-listener.ts),
// as PostgreSQL sees it: only this test file's database counts (other files' mailers listen too).
import { sleep } from "./sleep.ts";
import { getDb } from "../../lib/db/client.ts";

const LISTENER = "mailharbor listen recipient_lookup";

/** The backends of this database's listening connections. */
export async function lookupListenerPids(): Promise<number[]> {
  const rows = await getDb().$queryRaw<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${LISTENER}`;
  return rows.map((r) => r.pid);
}

/** Waits until a mailer's listening connection is up and has said LISTEN. */
export async function lookupListening(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = await getDb().$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = ${LISTENER} AND state = 'idle' AND query LIKE 'LISTEN%'`;
    if (Number(rows[0].n) > 0) return;
    await sleep(50);
  }
  throw new Error("the mailer is not listening for recipient changes");
}
