// What staff see of a stored DSN, from its state and its history: one home for the rule, in
// TypeScript (a row's status, a Prisma filter) and in SQL (what the sender picks up).
//   held    kept for staff, never tried: no SMARTHOST was configured when it was made
//   failed  held after trying: the smarthost refused it (5yz) or it stayed undelivered too long
//   pending waiting for the next housekeeping run to send it
//   sent    accepted by the smarthost
import type { Prisma } from "../db/client.ts";

export const DSN_STATUSES = ["held", "failed", "pending", "sent"] as const;
export type DsnStatus = (typeof DSN_STATUSES)[number];

/** Held and never tried: the housekeeping run sends these once a SMARTHOST is set. */
export const UNTRIED_HELD_SQL = "(state = 'held' AND attempts = 0 AND last_error IS NULL)";

export function dsnStatus(row: { state: string; attempts: number; lastError: string | null }): DsnStatus {
  if (row.state === "held") return row.attempts === 0 && row.lastError === null ? "held" : "failed";
  return row.state === "sent" ? "sent" : "pending";
}

export function dsnStatusWhere(status: DsnStatus): Prisma.DsnWhereInput {
  switch (status) {
    case "held":
      return { state: "held", attempts: 0, lastError: null };
    case "failed":
      return { state: "held", OR: [{ attempts: { gt: 0 } }, { lastError: { not: null } }] };
    case "pending":
      return { state: "pending" };
    case "sent":
      return { state: "sent" };
  }
}
