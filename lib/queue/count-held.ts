// Held deliveries per customer, for lists that show a few customers at a time.
import type { Actor } from "../actor.ts";
import { customerScope } from "../actor.ts";
import { HELD_WHERE } from "./delivery-state.ts";
import { dbWork, getDb } from "../db/client.ts";

export async function countHeldByCustomer(actor: Actor, customerIds: string[]): Promise<Map<string, number>> {
  const scope = customerScope(actor);
  if (!customerIds.length) return new Map();
  const rows = await dbWork(() =>
    getDb().delivery.groupBy({
      by: ["customerId"],
      where: { AND: [{ customerId: { in: customerIds } }, scope], ...HELD_WHERE },
      _count: { _all: true },
    }),
  );
  return new Map(rows.map((r) => [r.customerId, r._count._all]));
}
