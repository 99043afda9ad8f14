// The queue as people see it: messages with at least one delivery in the given state, within the
// actor's reach, newest first, with the total that matches.
import type { Actor } from "../actor.ts";
import { customerScope } from "../actor.ts";
import { dbWork, getDb, type Prisma } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { normalizeDomainName } from "../validation/domain-name.ts";

export const DELIVERY_STATES = ["queued", "delivering", "delivered", "bounced", "expired"] as const;
export type DeliveryStateName = (typeof DELIVERY_STATES)[number];

export interface QueueFilter {
  domain?: string;
  state?: string;
  customerId?: string;
  limit?: number;
}

export async function listHeldMessages(actor: Actor, filter: QueueFilter = {}) {
  const scope = customerScope(actor);
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new MailharborError("INVALID_INPUT", "limit must be 1-1000");
  const states = filter.state ? [filter.state] : ["queued", "delivering"];
  if (!states.every((s) => (DELIVERY_STATES as readonly string[]).includes(s))) {
    throw new MailharborError("INVALID_INPUT", `state must be one of ${DELIVERY_STATES.join(", ")}`);
  }
  const deliveryWhere: Prisma.DeliveryWhereInput = {
    state: { in: states as DeliveryStateName[] },
    AND: [filter.customerId ? { customerId: filter.customerId } : {}, scope],
  };
  if (filter.domain) {
    const name = normalizeDomainName(filter.domain);
    if (!name) throw new MailharborError("INVALID_INPUT", `"${filter.domain}" is not a valid domain name`);
    deliveryWhere.domain = { name };
  }
  const where: Prisma.MessageWhereInput = { deliveries: { some: deliveryWhere } };
  return dbWork(async () => {
    const [total, messages] = await Promise.all([
      getDb().message.count({ where }),
      getDb().message.findMany({
        where, orderBy: { id: "desc" }, take: limit,
        select: {
          id: true, mailFrom: true, size: true, receivedAt: true, fromHeader: true, subject: true,
          deliveries: { where: deliveryWhere, select: { recipient: true, state: true, attempts: true, lastError: true } },
        },
      }),
    ]);
    return { total, items: messages };
  });
}
