// Leases that end: on shutdown a mailer gives back what it still holds; the claims of a mailer
// that died (or stalled past its lease) return to the queue once their lease has run out.
import { queueQuery } from "../db/pg-pool.ts";

/**
 * The lease owner of one session's claims: `<owner>/<session>`. A session owns its leases, not
 * the mailer, so two sessions of one mailer never renew, release or record each other's claims.
 * The session part has no "/", so an owner's sessions are exactly one level below it (ETRN runs
 * use `<instance>/etrn` as their owner and stay apart from the ODMR sessions of `<instance>`).
 */
export function sessionLeaseOwner(owner: string, sessionId: string): string {
  return `${owner}/${sessionId.replaceAll("/", "-")}`;
}

/** Returns every delivery this owner or one of its sessions still holds to the queue; the number returned. */
export async function releaseLeases(owner: string): Promise<number> {
  const rows = await queueQuery(
    `UPDATE delivery SET state = 'queued', lease_owner = NULL, lease_until = NULL
     WHERE state = 'delivering' AND (lease_owner = $1
       OR (left(lease_owner, length($1) + 1) = $1 || '/' AND strpos(substr(lease_owner, length($1) + 2), '/') = 0))
     RETURNING id`, [owner]);
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
