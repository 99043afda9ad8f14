// The staff dashboard's figures: what is held, what was released, how ODMR sessions went over time,
// and which customers hold the most mail.
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { dbWork, getDb, Prisma } from "../db/client.ts";

const HELD = Prisma.sql`state IN ('queued', 'delivering')`;
/** Timestamps are stored as UTC without a zone. */
const NOW_UTC = Prisma.sql`(now() AT TIME ZONE 'UTC')`;
/** ATRN answered 250 (released) or 453 (nothing to release): the session did what it came for. */
const SUCCESSFUL = Prisma.sql`(reply LIKE '250%' OR reply LIKE '453%')`;

export interface SessionBucket {
  start: Date;
  successful: number;
  refused: number;
}

export interface DashboardStats {
  heldMessages: number;
  heldDeliveries: number;
  heldBytes: number;
  oldestHeld: { id: string; receivedAt: Date } | null;
  releasedLast24h: { messages: number; sessions: number };
  sessions: { bucket: "hour" | "day"; buckets: SessionBucket[] };
  topCustomers: { id: string; name: string; held: number }[];
}

/** `range` "day": the last 24 hours by hour; "fortnight": the last 14 days by day. */
export async function getDashboardStats(actor: Actor, range: "day" | "fortnight" = "fortnight"): Promise<DashboardStats> {
  requireOperator(actor);
  const db = getDb();
  const bucket = range === "day" ? "hour" : "day";
  const count = range === "day" ? 24 : 14;
  return dbWork(async () => {
    const [held, oldest, released, sessions, top] = await Promise.all([
      db.$queryRaw<{ messages: bigint; bytes: bigint | null; deliveries: bigint }[]>`
        SELECT count(*) AS messages, sum(m.size) AS bytes,
               (SELECT count(*) FROM delivery WHERE ${HELD}) AS deliveries
        FROM message m WHERE m.id IN (SELECT message_id FROM delivery WHERE ${HELD})`,
      db.$queryRaw<{ id: string; received_at: Date }[]>`
        SELECT m.id, m.received_at FROM message m
        WHERE m.id IN (
          (SELECT message_id FROM delivery WHERE state = 'queued' ORDER BY created_at LIMIT 1),
          (SELECT message_id FROM delivery WHERE state = 'delivering' ORDER BY created_at LIMIT 1))
        ORDER BY m.id LIMIT 1`,
      db.$queryRaw<{ messages: bigint | null; sessions: bigint }[]>`
        SELECT sum(messages_delivered) AS messages, count(*) FILTER (WHERE messages_delivered > 0) AS sessions
        FROM odmr_session WHERE started_at >= ${NOW_UTC} - interval '24 hours'`,
      db.$queryRaw<{ start: Date; successful: bigint; refused: bigint }[]>`
        SELECT date_trunc(${bucket}, started_at) AS start,
               count(*) FILTER (WHERE ${SUCCESSFUL}) AS successful,
               count(*) FILTER (WHERE NOT ${SUCCESSFUL} OR reply IS NULL) AS refused
        FROM odmr_session
        WHERE started_at >= date_trunc(${bucket}, ${NOW_UTC}) - ${`${count - 1} ${bucket}s`}::interval
        GROUP BY 1 ORDER BY 1`,
      db.$queryRaw<{ id: string; name: string; held: bigint }[]>`
        SELECT c.id, c.name, h.held FROM (
          SELECT customer_id, count(*) AS held FROM delivery WHERE ${HELD} GROUP BY customer_id ORDER BY held DESC LIMIT 5
        ) h JOIN customer c ON c.id = h.customer_id ORDER BY h.held DESC, c.name`,
    ]);
    const now = new Date();
    const step = bucket === "hour" ? 3600_000 : 86_400_000;
    const first = bucket === "hour"
      ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours()) - (count - 1) * step
      : Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (count - 1) * step;
    const found = new Map(sessions.map((s) => [s.start.getTime(), s]));
    const buckets = Array.from({ length: count }, (_, i) => {
      const start = first + i * step;
      const row = found.get(start);
      return { start: new Date(start), successful: Number(row?.successful ?? 0), refused: Number(row?.refused ?? 0) };
    });
    return {
      heldMessages: Number(held[0]?.messages ?? 0),
      heldDeliveries: Number(held[0]?.deliveries ?? 0),
      heldBytes: Number(held[0]?.bytes ?? 0),
      oldestHeld: oldest[0] ? { id: oldest[0].id, receivedAt: oldest[0].received_at } : null,
      releasedLast24h: { messages: Number(released[0]?.messages ?? 0), sessions: Number(released[0]?.sessions ?? 0) },
      sessions: { bucket, buckets },
      topCustomers: top.map((t) => ({ id: t.id, name: t.name, held: Number(t.held) })),
    };
  });
}
