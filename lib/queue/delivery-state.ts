// The states of a delivery row and the one rule for "held": a delivery is held while it still
// waits for the customer to collect it, queued or claimed by a session (delivering, under a
// lease). Delivered, bounced and expired are final. Every check of "held" goes through here, in
// TypeScript, as SQL for the pg pool and Prisma.sql, and as a Prisma filter.
import { Prisma } from "../db/client.ts";

export const DELIVERY_STATES = ["queued", "delivering", "delivered", "bounced", "expired"] as const;
export type DeliveryStateName = (typeof DELIVERY_STATES)[number];

export const HELD_STATES: readonly DeliveryStateName[] = ["queued", "delivering"];

export function isHeld(state: string): boolean {
  return (HELD_STATES as readonly string[]).includes(state);
}

/** "held" as SQL over a delivery row, e.g. `heldSql("d")` → `d.state IN ('queued', 'delivering')`. */
export function heldSql(alias?: string): string {
  return `${alias ? `${alias}.` : ""}state IN (${HELD_STATES.map((s) => `'${s}'`).join(", ")})`;
}

/** heldSql for Prisma.sql templates. */
export function heldPrismaSql(alias?: string): Prisma.Sql {
  return Prisma.raw(heldSql(alias));
}

/** "held" as a Prisma filter on delivery. */
export const HELD_WHERE = { state: { in: [...HELD_STATES] } } satisfies Prisma.DeliveryWhereInput;
