// The held-mail gauges, read from the database when Prometheus scrapes: one grouped statement
// over the held deliveries, its answer reused for CACHE_MS so that several scrapers (or a short
// scrape interval) cannot turn into a stream of queries.
import client from "prom-client";
import { registry } from "./metrics.ts";
import { queueQuery } from "../db/pg-pool.ts";
import { HELD_STATES } from "../queue/delivery-state.ts";

const CACHE_MS = 5000;

// a message with recipients in both states counts once in each
const HELD_SQL = `
SELECT h.state, sum(h.recipients)::bigint AS deliveries, count(*)::bigint AS messages, sum(m.size)::bigint AS bytes
FROM (
  SELECT message_id, state::text AS state, count(*) AS recipients FROM delivery
  WHERE state = ANY($1::"DeliveryState"[]) GROUP BY message_id, state
) h JOIN message m ON m.id = h.message_id
GROUP BY h.state`;

interface HeldRow {
  state: string;
  deliveries: string;
  messages: string;
  bytes: string;
}

let cached: { at: number; rows: Promise<HeldRow[]> } | null = null;

function heldRows(): Promise<HeldRow[]> {
  if (!cached || Date.now() - cached.at > CACHE_MS) {
    const rows = queueQuery<HeldRow>(HELD_SQL, [HELD_STATES], "mh_metrics_held");
    cached = { at: Date.now(), rows };
    // a failed read is not kept: the next scrape asks again
    rows.catch(() => {
      if (cached?.rows === rows) cached = null;
    });
  }
  return cached.rows;
}

function heldGauge(name: string, help: string, column: "deliveries" | "messages" | "bytes"): void {
  new client.Gauge({
    name,
    help,
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      const rows = await heldRows();
      // every held state is reported, 0 when nothing is in it, so a drained queue shows as 0
      for (const state of HELD_STATES) this.set({ state }, Number(rows.find((r) => r.state === state)?.[column] ?? 0));
    },
  });
}

heldGauge("mailharbor_held_messages", "Messages held, by state (queued, delivering); a message with recipients in both counts in both", "messages");
heldGauge("mailharbor_held_deliveries", "Recipient deliveries held, by state (queued, delivering)", "deliveries");
heldGauge("mailharbor_held_bytes", "Bytes of the messages held, by state (queued, delivering)", "bytes");
