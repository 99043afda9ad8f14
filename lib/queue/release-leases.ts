// Leases that end: on shutdown a mailer gives back what it still holds; the claims of a mailer
// that died (or stalled past its lease) return to the queue once their lease has run out.
import { queueQuery } from "./queue-pool.ts";

/** Returns every delivery this owner still holds to the queue; the number returned. */
export async function releaseLeases(owner: string): Promise<number> {
  const rows = await queueQuery(
    `UPDATE delivery SET state = 'queued', lease_owner = NULL, lease_until = NULL
     WHERE state = 'delivering' AND lease_owner = $1 RETURNING id`, [owner]);
  return rows.length;
}

/** Requeues deliveries whose lease has run out, in the given domains or (without) everywhere. */
export async function requeueExpiredLeases(domainIds?: string[]): Promise<number> {
  const rows = domainIds
    ? await queueQuery(
      `UPDATE delivery SET state = 'queued', lease_owner = NULL, lease_until = NULL
       WHERE domain_id = ANY($1::uuid[]) AND state = 'delivering' AND lease_until < now() RETURNING id`, [domainIds])
    : await queueQuery(
      `UPDATE delivery SET state = 'queued', lease_owner = NULL, lease_until = NULL
       WHERE state = 'delivering' AND lease_until < now() RETURNING id`);
  return rows.length;
}
