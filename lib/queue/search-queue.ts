// The queue as the portal pages through it: messages (newest first) that have a delivery matching
// the filters, within the actor's reach, with only the matching deliveries. Paging is keyset on the
// message id, which is time-ordered, so every page costs the same at a million rows; the total is
// counted up to a cap, exact when small, and a page among matches within the cap is taken from them.
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { customerScope } from "../actor.ts";
import { DELIVERY_STATES, HELD_STATES, type DeliveryStateName } from "./delivery-state.ts";
import { expiryTime } from "./expiry-time.ts";
import { queueIdAt, queueIdSchema } from "./queue-id.ts";
import { dbWork, getDb, Prisma } from "../db/client.ts";
import { getDomain } from "../domains/domains.ts";
import { parseInput } from "../validation/parse-input.ts";
import { uuidSchema } from "../validation/schemas.ts";

export const COUNT_CAP = 10_000;

const hours = z.coerce
  .number()
  .positive()
  .max(24 * 3650);

/** What selects messages: shared by the listing, its CSV export and the bulk actions. */
export const queueFilterSchema = z.object({
  /** "held" (queued or delivering, the default) or one delivery state */
  state: z.enum(["held", ...DELIVERY_STATES], { message: `state must be one of held, ${DELIVERY_STATES.join(", ")}` }).default("held"),
  customerId: uuidSchema.optional(),
  /** a domain id or name */
  domain: z.string().trim().min(1).optional(),
  /** part of a recipient address (a prefix such as "sales@" or any substring) */
  recipient: z.string().trim().min(1).max(320).optional(),
  /** part of the envelope sender */
  sender: z.string().trim().min(1).max(320).optional(),
  /** part of the envelope sender or the subject */
  q: z.string().trim().min(1).max(200).optional(),
  olderThanHours: hours.optional(),
  newerThanHours: hours.optional(),
});

export type QueueFilter = z.input<typeof queueFilterSchema>;

const filterSchema = queueFilterSchema.extend({
  /** the page after this id (older messages) … */
  before: queueIdSchema.optional(),
  /** … or the page before it (newer messages) */
  after: queueIdSchema.optional(),
  limit: z.coerce.number().int("limit must be 1-1000").min(1, "limit must be 1-1000").max(1000, "limit must be 1-1000").default(50),
  /** count every match (scripts want the exact total); the portal counts up to COUNT_CAP */
  exactCount: z.boolean().default(false),
  /** no count at all (the CSV export pages through everything and needs none) */
  skipCount: z.boolean().default(false),
});

export type QueueSearch = z.input<typeof filterSchema>;

export interface QueueDelivery {
  id: string;
  recipient: string;
  state: DeliveryStateName;
  attempts: number;
  lastError: string | null;
  domainId: string;
  domainName: string;
  customerId: string;
  customerName: string;
}

/** A delivery as the API and the CLI's `--json` show it: names instead of ids. */
export function deliveryView(d: Pick<QueueDelivery, "recipient" | "domainName" | "customerName" | "state" | "attempts" | "lastError">) {
  return { recipient: d.recipient, domain: d.domainName, customer: d.customerName, state: d.state, attempts: d.attempts, lastError: d.lastError };
}

export interface QueueItem {
  id: string;
  mailFrom: string;
  size: number;
  receivedAt: Date;
  fromHeader: string | null;
  subject: string | null;
  deliveries: QueueDelivery[];
  /** when the earliest of its held deliveries expires (arrival + the domain's retention) */
  expiresAt: Date | null;
}

export interface QueuePage {
  items: QueueItem[];
  /** cursor for older messages, or null on the last page */
  olderCursor: string | null;
  /** cursor for newer messages, or null on the first page */
  newerCursor: string | null;
  /** matching messages, counted up to COUNT_CAP unless exactCount was asked for */
  count: number;
  countCapped: boolean;
}

/** ILIKE pattern for a substring, with the pattern characters taken literally. */
function contains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * A filter as SQL, within the actor's reach: the conditions on a delivery `d`, on its message `m`,
 * and the bounds on a message id column (arrival age, since queue ids are time-ordered).
 */
export interface CompiledQueueFilter {
  delivery: Prisma.Sql[];
  message: Prisma.Sql[];
  idBounds: (column: Prisma.Sql) => Prisma.Sql[];
}

export async function compileQueueFilter(actor: Actor, filter: z.output<typeof queueFilterSchema>, now = Date.now()): Promise<CompiledQueueFilter> {
  const scope = customerScope(actor);
  const f = filter;
  const states = f.state === "held" ? HELD_STATES : [f.state];
  const domainId = f.domain ? (await getDomain(actor, f.domain)).id : undefined;
  return {
    delivery: [
      Prisma.sql`d.state = ANY(${states}::"DeliveryState"[])`,
      ...(scope.customerId ? [Prisma.sql`d.customer_id = ${scope.customerId}::uuid`] : []),
      ...(f.customerId ? [Prisma.sql`d.customer_id = ${f.customerId}::uuid`] : []),
      ...(domainId ? [Prisma.sql`d.domain_id = ${domainId}::uuid`] : []),
      // a trigram index (delivery_recipient_trgm_idx) answers substrings and prefixes alike
      ...(f.recipient ? [Prisma.sql`d.recipient ILIKE ${contains(f.recipient)}`] : []),
    ],
    message: [
      ...(f.sender ? [Prisma.sql`m.mail_from ILIKE ${contains(f.sender)}`] : []),
      ...(f.q ? [Prisma.sql`(m.mail_from ILIKE ${contains(f.q)} OR m.subject ILIKE ${contains(f.q)})`] : []),
    ],
    idBounds: (column) => [
      ...(f.olderThanHours ? [Prisma.sql`${column} < ${queueIdAt(now - f.olderThanHours * 3600_000)}`] : []),
      ...(f.newerThanHours ? [Prisma.sql`${column} >= ${queueIdAt(now - f.newerThanHours * 3600_000)}`] : []),
    ],
  };
}

/**
 * The WHERE on `message m` for the messages with a delivery matching the filter (and `deliveryExtra`),
 * with more bounds on the message id (a page cursor, a batch). The bounds are stated for both sides
 * of the semi-join: PostgreSQL does not carry a range across the join, and without it a page deep
 * in the queue would scan the deliveries of every newer message first.
 */
export function matchingMessagesWhere(
  filter: CompiledQueueFilter,
  bounds: (column: Prisma.Sql) => Prisma.Sql[] = () => [],
  deliveryExtra: Prisma.Sql[] = [],
): Prisma.Sql {
  const all = (column: Prisma.Sql) => [...filter.idBounds(column), ...bounds(column)];
  return Prisma.join(
    [
      Prisma.sql`m.id IN (SELECT d.message_id FROM delivery d WHERE ${Prisma.join([...filter.delivery, ...deliveryExtra, ...all(Prisma.sql`d.message_id`)], " AND ")})`,
      ...all(Prisma.sql`m.id`),
      ...filter.message,
    ],
    " AND ",
  );
}

interface MessageRow {
  id: string;
  mail_from: string;
  size: number;
  received_at: Date;
  from_header: string | null;
  subject: string | null;
}

/** Among all the matching ids, the ones the keyset page would read (one more than the limit). */
function pageIds(matched: string[], f: { before?: string; after?: string; limit: number }): string[] {
  const inRange = matched.filter((id) => (f.before ? id < f.before : f.after ? id > f.after : true)).sort();
  return f.after ? inRange.slice(0, f.limit + 1) : inRange.slice(-(f.limit + 1));
}

export async function searchQueue(actor: Actor, search: QueueSearch = {}): Promise<QueuePage> {
  const f = parseInput(filterSchema, search);
  const compiled = await compileQueueFilter(actor, f);
  const cursorBound = (column: Prisma.Sql) => (f.before ? [Prisma.sql`${column} < ${f.before}`] : f.after ? [Prisma.sql`${column} > ${f.after}`] : []);
  const where = (paged: boolean) => matchingMessagesWhere(compiled, paged ? cursorBound : undefined);
  const deliveryWhere = Prisma.join(compiled.delivery, " AND ");
  const newerFirst = !f.after;

  const db = getDb();
  const messages = (condition: Prisma.Sql) => db.$queryRaw<MessageRow[]>`
    SELECT m.id, m.mail_from, m.size, m.received_at, m.from_header, m.subject
    FROM message m WHERE ${condition}
    ORDER BY m.id ${newerFirst ? Prisma.sql`DESC` : Prisma.sql`ASC`} LIMIT ${f.limit + 1}`;
  return dbWork(async () => {
    let rows: MessageRow[];
    let count = 0;
    if (f.skipCount) {
      rows = await messages(where(true));
    } else if (f.exactCount) {
      const [listed, counted] = await Promise.all([
        messages(where(true)),
        db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM message m WHERE ${where(false)}`,
      ]);
      rows = listed;
      count = Number(counted[0]?.n ?? 0);
    } else {
      // The portal's count lists the matches up to the cap. When that is all of them, the page is
      // taken from the list: the planner takes a customer's share of a substring match to be its
      // share of the queue (a mailbox name many customers have, few of them this one's), and
      // walking the queue newest first for 50 of them would read most of it.
      const matched = (await db.$queryRaw<{ id: string }[]>`SELECT m.id FROM message m WHERE ${where(false)} LIMIT ${COUNT_CAP + 1}`).map((r) => r.id);
      count = matched.length;
      rows = count > COUNT_CAP ? await messages(where(true)) : await messages(Prisma.sql`m.id = ANY(${pageIds(matched, f)})`);
    }
    const more = rows.length > f.limit;
    const page = rows.slice(0, f.limit);
    if (!newerFirst) page.reverse();
    const ids = page.map((r) => r.id);
    const deliveries = ids.length
      ? await db.$queryRaw<
          {
            id: bigint;
            message_id: string;
            recipient: string;
            state: DeliveryStateName;
            attempts: number;
            last_error: string | null;
            domain_id: string;
            domain_name: string;
            retention_days: number;
            customer_id: string;
            customer_name: string;
          }[]
        >`
      SELECT d.id, d.message_id, d.recipient, d.state, d.attempts, d.last_error, d.domain_id, dom.name AS domain_name,
             dom.retention_days, d.customer_id, c.name AS customer_name
      FROM delivery d JOIN domain dom ON dom.id = d.domain_id JOIN customer c ON c.id = d.customer_id
      WHERE d.message_id = ANY(${ids}) AND ${deliveryWhere}
      ORDER BY d.id`
      : [];
    const byMessage = new Map<string, typeof deliveries>();
    for (const d of deliveries) byMessage.set(d.message_id, [...(byMessage.get(d.message_id) ?? []), d]);
    const items = page.map((r): QueueItem => {
      const own = byMessage.get(r.id) ?? [];
      return {
        id: r.id,
        mailFrom: r.mail_from,
        size: r.size,
        receivedAt: r.received_at,
        fromHeader: r.from_header,
        subject: r.subject,
        expiresAt: expiryTime(
          r.received_at,
          own.map((d) => ({ state: d.state, retentionDays: d.retention_days })),
        ),
        deliveries: own.map((d) => ({
          id: String(d.id),
          recipient: d.recipient,
          state: d.state,
          attempts: d.attempts,
          lastError: d.last_error,
          domainId: d.domain_id,
          domainName: d.domain_name,
          customerId: d.customer_id,
          customerName: d.customer_name,
        })),
      };
    });
    const hasOlder = newerFirst ? more : Boolean(f.after);
    const hasNewer = newerFirst ? Boolean(f.before) : more;
    return {
      items,
      olderCursor: hasOlder && items.length ? items[items.length - 1].id : null,
      newerCursor: hasNewer && items.length ? items[0].id : null,
      count: f.exactCount ? count : Math.min(count, COUNT_CAP),
      countCapped: !f.exactCount && count > COUNT_CAP,
    };
  });
}
