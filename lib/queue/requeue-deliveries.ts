// "Back to the queue": a claimed delivery that did not reach the customer becomes queued again
// with its lease cleared, so the next ATRN session or ETRN run offers it (design: a lost
// connection or a 4yz leaves it queued; a crashed or stuck session's claims come back). Every
// path that gives deliveries back (a session's release, shutdown, an expired lease, staff's
// "release lease", the bulk release) sets exactly this.
import { queueQuery } from "../db/pg-pool.ts";

/** The SET list, for a statement that selects or returns more than requeueDeliveries does. */
export const REQUEUE_SET = "state = 'queued', lease_owner = NULL, lease_until = NULL";

/** The same as Prisma update data. */
export const REQUEUE_DATA = { state: "queued", leaseOwner: null, leaseUntil: null } as const;

/**
 * Gives back the deliveries `where` selects (SQL over delivery, with `params` as $1…); `also`
 * adds assignments to the SET list. The number given back.
 */
export async function requeueDeliveries(where: string, params: unknown[] = [], also?: string): Promise<number> {
  const rows = await queueQuery(`UPDATE delivery SET ${REQUEUE_SET}${also ? `, ${also}` : ""} WHERE ${where} RETURNING id`, params);
  return rows.length;
}
