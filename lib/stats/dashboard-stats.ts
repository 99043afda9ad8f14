// The staff dashboard's figures: what is held, what was released, how ODMR sessions went over time,
// which customers hold the most mail, and how far the set-up has come (for a new installation).
// The held figures are exact up to EXACT_UP_TO held deliveries. Past that, counting them exactly
// would read the whole queue on every view (over a second with a million held), so they are
// estimated from a sample of the delivery table's pages (TABLESAMPLE SYSTEM) and marked as such.
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { dbWork, getDb, Prisma } from "../db/client.ts";
import { HELD_STATES, heldPrismaSql } from "../queue/delivery-state.ts";
import { SUCCESSFUL_SESSION_SQL } from "../sessions/session-result.ts";

const HELD = heldPrismaSql();
/** Timestamps are stored as UTC without a zone. */
const NOW_UTC = Prisma.sql`(now() AT TIME ZONE 'UTC')`;
/** Held deliveries counted exactly; past this the held figures are estimates. */
export const EXACT_UP_TO = 10_000;
/** Delivery rows an estimate reads, about: enough for figures within a few per cent. */
const SAMPLE_ROWS = 5_000;

export interface SessionBucket {
  start: Date;
  successful: number;
  refused: number;
}

export interface DashboardStats {
  heldMessages: number;
  heldDeliveries: number;
  heldBytes: number;
  /** the held figures (and topCustomers' counts) are estimates: more than EXACT_UP_TO deliveries are held */
  heldEstimated: boolean;
  oldestHeld: { id: string; receivedAt: Date } | null;
  releasedLast24h: { messages: number; sessions: number };
  sessions: { bucket: "hour" | "day"; buckets: SessionBucket[] };
  topCustomers: { id: string; name: string; held: number }[];
  /** what exists yet, for the first steps on an empty installation */
  setup: { customers: number; logins: number; domains: number; mailReceived: boolean };
}

interface HeldFigures {
  messages: number;
  deliveries: number;
  bytes: number;
  top: { customerId: string; held: number }[];
}

type Db = ReturnType<typeof getDb>;

async function exactHeld(db: Db): Promise<HeldFigures> {
  const [held, top] = await Promise.all([
    db.$queryRaw<{ messages: bigint; bytes: bigint | null; deliveries: bigint }[]>`
      SELECT count(*) AS messages, sum(m.size) AS bytes,
             (SELECT count(*) FROM delivery WHERE ${HELD}) AS deliveries
      FROM message m WHERE m.id IN (SELECT message_id FROM delivery WHERE ${HELD})`,
    db.$queryRaw<{ customer_id: string; held: bigint }[]>`
      SELECT customer_id::text, count(*) AS held FROM delivery WHERE ${HELD} GROUP BY customer_id ORDER BY held DESC LIMIT 5`,
  ]);
  return {
    messages: Number(held[0]?.messages ?? 0),
    deliveries: Number(held[0]?.deliveries ?? 0),
    bytes: Number(held[0]?.bytes ?? 0),
    top: top.map((t) => ({ customerId: t.customer_id, held: Number(t.held) })),
  };
}

/**
 * The held figures scaled up from a sample of about SAMPLE_ROWS delivery rows: whole pages picked
 * at random (REPEATABLE, so the figures stay put between views while the table does not change).
 */
async function estimatedHeld(db: Db): Promise<HeldFigures> {
  const [size] = await db.$queryRaw<{ rows: number }[]>`
    SELECT (CASE WHEN c.reltuples > 0 AND c.relpages > 0 THEN c.reltuples / c.relpages ELSE 50 END
            * greatest(pg_relation_size(c.oid) / current_setting('block_size')::int, 1))::float8 AS rows
    FROM pg_class c WHERE c.oid = 'delivery'::regclass`;
  const percent = Math.min(100, Math.max(0.001, (100 * SAMPLE_ROWS) / Math.max(1, size?.rows ?? 0)));
  const scale = 100 / percent;
  const sample = Prisma.sql`SELECT message_id, customer_id FROM delivery TABLESAMPLE SYSTEM (${percent}) REPEATABLE (0) WHERE ${HELD}`;
  // No lookups per sampled row: on a cold cache each costs a random read, and a few thousand of
  // them cost more than the count they replace. A message's deliveries are written together
  // (storeMessage), so they share a page and the sample's distinct messages per delivery holds
  // for the queue; the bytes take the mean size from a sample of the message table's pages.
  const [held, top, sizes] = await Promise.all([
    db.$queryRaw<{ deliveries: bigint; messages: bigint }[]>`
      SELECT count(*) AS deliveries, count(DISTINCT message_id) AS messages FROM (${sample}) s`,
    db.$queryRaw<{ customer_id: string; held: bigint }[]>`
      SELECT customer_id::text, count(*) AS held FROM (${sample}) s GROUP BY customer_id ORDER BY held DESC LIMIT 5`,
    db.$queryRaw<{ mean: number | null }[]>`SELECT avg(size)::float8 AS mean FROM message TABLESAMPLE SYSTEM (${percent}) REPEATABLE (0)`,
  ]);
  const sampled = Number(held[0]?.deliveries ?? 0);
  // never below what the exact count already saw
  const deliveries = Math.max(EXACT_UP_TO + 1, Math.round(sampled * scale));
  const messages = sampled ? Math.round((deliveries * Number(held[0].messages)) / sampled) : 0;
  return {
    deliveries,
    messages,
    bytes: Math.round(messages * (sizes[0]?.mean ?? 0)),
    top: top.map((t) => ({ customerId: t.customer_id, held: Math.round(Number(t.held) * scale) })),
  };
}

/** `range` "day": the last 24 hours by hour; "fortnight": the last 14 days by day. */
export async function getDashboardStats(actor: Actor, range: "day" | "fortnight" = "fortnight"): Promise<DashboardStats> {
  requireOperator(actor);
  const db = getDb();
  const bucket = range === "day" ? "hour" : "day";
  const count = range === "day" ? 24 : 14;
  return dbWork(async () => {
    const [probe, oldest, released, sessions, setup] = await Promise.all([
      // stops reading at the bound: a million held rows cost no more than EXACT_UP_TO + 1
      db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM (SELECT 1 FROM delivery WHERE ${HELD} LIMIT ${EXACT_UP_TO + 1}) held`,
      db.$queryRaw<{ id: string; received_at: Date }[]>`
        SELECT m.id, m.received_at FROM message m
        WHERE m.id IN (${Prisma.join(
          HELD_STATES.map((state) => Prisma.sql`(SELECT message_id FROM delivery WHERE state = ${state}::"DeliveryState" ORDER BY created_at LIMIT 1)`),
        )})
        ORDER BY m.id LIMIT 1`,
      db.$queryRaw<{ messages: bigint | null; sessions: bigint }[]>`
        SELECT sum(messages_delivered) AS messages, count(*) FILTER (WHERE messages_delivered > 0) AS sessions
        FROM odmr_session WHERE started_at >= ${NOW_UTC} - interval '24 hours'`,
      // the rule is evaluated once per row: every session that is not successful counts as refused
      db.$queryRaw<{ start: Date; successful: bigint; refused: bigint }[]>`
        SELECT start, successful, total - successful AS refused FROM (
          SELECT date_trunc(${bucket}, started_at) AS start, count(*) FILTER (WHERE ${SUCCESSFUL_SESSION_SQL}) AS successful, count(*) AS total
          FROM odmr_session
          WHERE started_at >= date_trunc(${bucket}, ${NOW_UTC}) - ${`${count - 1} ${bucket}s`}::interval
          GROUP BY 1) buckets ORDER BY 1`,
      db.$queryRaw<{ customers: number; logins: number; domains: number; mail: boolean }[]>`
        SELECT (SELECT count(*)::int FROM customer) AS customers, (SELECT count(*)::int FROM odmr_login) AS logins,
               (SELECT count(*)::int FROM domain) AS domains, EXISTS (SELECT 1 FROM message) AS mail`,
    ]);
    const heldEstimated = (probe[0]?.n ?? 0) > EXACT_UP_TO;
    const held = heldEstimated ? await estimatedHeld(db) : await exactHeld(db);
    const names = held.top.length
      ? await db.customer.findMany({ where: { id: { in: held.top.map((t) => t.customerId) } }, select: { id: true, name: true } })
      : [];
    const nameOf = new Map(names.map((c) => [c.id, c.name]));
    const now = new Date();
    const step = bucket === "hour" ? 3600_000 : 86_400_000;
    const first =
      bucket === "hour"
        ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours()) - (count - 1) * step
        : Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (count - 1) * step;
    const found = new Map(sessions.map((s) => [s.start.getTime(), s]));
    const buckets = Array.from({ length: count }, (_, i) => {
      const start = first + i * step;
      const row = found.get(start);
      return { start: new Date(start), successful: Number(row?.successful ?? 0), refused: Number(row?.refused ?? 0) };
    });
    const s = setup[0];
    return {
      heldMessages: held.messages,
      heldDeliveries: held.deliveries,
      heldBytes: held.bytes,
      heldEstimated,
      oldestHeld: oldest[0] ? { id: oldest[0].id, receivedAt: oldest[0].received_at } : null,
      releasedLast24h: { messages: Number(released[0]?.messages ?? 0), sessions: Number(released[0]?.sessions ?? 0) },
      sessions: { bucket, buckets },
      topCustomers: held.top
        .flatMap((t) => (nameOf.has(t.customerId) ? [{ id: t.customerId, name: nameOf.get(t.customerId)!, held: t.held }] : []))
        .sort((a, b) => b.held - a.held || a.name.localeCompare(b.name)),
      setup: { customers: s?.customers ?? 0, logins: s?.logins ?? 0, domains: s?.domains ?? 0, mailReceived: s?.mail ?? false },
    };
  });
}
