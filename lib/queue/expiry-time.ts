// When held mail expires, as the portal shows it: expire-held-mail.ts takes a delivery once it has
// been held longer than its domain's retention, so a message held for several domains is returned
// (to those recipients) first at the shortest retention among its held deliveries.
import { isHeld } from "./delivery-state.ts";

const DAY_MS = 86_400_000;

/** The expiry of a message's held deliveries within view; null when none of them is held. */
export function expiryTime(receivedAt: Date, deliveries: { state: string; retentionDays: number }[]): Date | null {
  const held = deliveries.filter((d) => isHeld(d.state));
  if (!held.length) return null;
  return new Date(receivedAt.getTime() + Math.min(...held.map((d) => d.retentionDays)) * DAY_MS);
}
