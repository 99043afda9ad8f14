// Leases that end: on shutdown a mailer gives back what it still holds; the claims of a mailer
// that died (or stalled past its lease) return to the queue once their lease has run out.
import { requeueDeliveries } from "./requeue-deliveries.ts";

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
  return requeueDeliveries(
    `state = 'delivering' AND (lease_owner = $1
    OR (left(lease_owner, length($1) + 1) = $1 || '/' AND strpos(substr(lease_owner, length($1) + 2), '/') = 0))`,
    [owner],
  );
}

/** Requeues deliveries whose lease has run out, in the given domains or (without) everywhere. */
export async function requeueExpiredLeases(domainIds?: string[]): Promise<number> {
  const expired = "state = 'delivering' AND lease_until < now()";
  return domainIds ? requeueDeliveries(`domain_id = ANY($1::uuid[]) AND ${expired}`, [domainIds]) : requeueDeliveries(expired);
}
