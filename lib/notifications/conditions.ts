// The conditions notifications are about (issue 12 §3), as they stand right now. Each active
// condition is keyed by condition and object, so that run-notifications.ts can tell a new episode
// (notify) from one that goes on (say nothing) and from one that cleared (close it).
// Per customer, with its thresholds (notification-settings.ts, defaults when none were saved):
// - uncollected:   a domain's oldest held mail arrived more than N hours ago (default 24);
// - held-volume:   a domain holds more deliveries or more megabytes than the limits;
// - expiring:      held mail will expire (domain retention) within N days (default 3), before the DSN;
// - bounce-held:   bounce protection holds the domain (lib/protection/bounce-protection.ts);
// - secret-expiring: a login's rotated-out secret expires within a day.
// For staff, once a day: a digest (domains not collected, protection holds, DSNs held for want of SMARTHOST).
import { NOTIFICATION_DEFAULTS } from "./notification-settings.ts";
import { queueQuery } from "../db/pg-pool.ts";
import { BOUNCE_HELD_SQL } from "../protection/bounce-protection.ts";
import { heldSql } from "../queue/delivery-state.ts";

export type ConditionKind = "uncollected" | "held-volume" | "expiring" | "bounce-held" | "secret-expiring" | "staff-digest";

export interface ActiveCondition {
  condition: ConditionKind;
  objectKey: string;
  /** null: for staff */
  customerId: string | null;
  subject: string;
  text: string;
  data: Record<string, unknown>;
}

interface DomainRow {
  id: string;
  name: string;
  customer_id: string;
  held: number;
  mb: number;
  oldest: Date;
  expiring: number;
  uncollected: boolean;
  over_count: boolean;
  over_mb: boolean;
  warn_days: number;
  hours: number;
}

// The customer's setting, or the default when it never saved any ($1..$4).
const SETTINGS = `
  CASE WHEN ns.customer_id IS NULL THEN $1 ELSE ns.uncollected_hours END AS hours,
  CASE WHEN ns.customer_id IS NULL THEN $2 ELSE ns.held_count_limit END AS count_limit,
  CASE WHEN ns.customer_id IS NULL THEN $3 ELSE ns.held_mb_limit END AS mb_limit,
  CASE WHEN ns.customer_id IS NULL THEN $4 ELSE ns.expiry_warning_days END AS warn_days`;

/** Held mail per domain with each customer's thresholds; one pass over the held rows. */
const DOMAINS_SQL = `
WITH s AS (
  SELECT dm.id, dm.name, dm.customer_id, dm.retention_days, ${SETTINGS}
  FROM domain dm LEFT JOIN notification_settings ns ON ns.customer_id = dm.customer_id
), h AS (
  SELECT s.id::text AS id, s.name, s.customer_id::text AS customer_id, s.hours, s.count_limit, s.mb_limit, s.warn_days,
    count(*)::int AS held, (sum(m.size) / 1048576.0)::float8 AS mb, min(d.created_at) AS oldest,
    -- expiry (expire-held-mail.ts) takes what arrived more than retention_days ago
    (count(*) FILTER (WHERE d.created_at < now() - make_interval(days => s.retention_days - s.warn_days)))::int AS expiring
  FROM delivery d JOIN s ON s.id = d.domain_id JOIN message m ON m.id = d.message_id
  WHERE ${heldSql("d")}
  GROUP BY s.id, s.name, s.customer_id, s.hours, s.count_limit, s.mb_limit, s.warn_days
)
SELECT h.*, oldest < now() - make_interval(hours => hours) AS uncollected,
  (count_limit IS NOT NULL AND held > count_limit) AS over_count,
  (mb_limit IS NOT NULL AND mb > mb_limit) AS over_mb
FROM h`;

const BOUNCE_HELD = `SELECT id::text AS id, name, customer_id::text AS customer_id, bounce_held_at, bounce_held_evidence FROM domain WHERE ${BOUNCE_HELD_SQL}`;

const SECRETS_EXPIRING = `
SELECT s.id::text AS id, s.expires_at, l.login, l.customer_id::text AS customer_id
FROM odmr_secret s JOIN odmr_login l ON l.id = s.login_id
WHERE s.expires_at > now() AND s.expires_at <= now() + interval '1 day'`;

/** DSNs that wait only because there is no SMARTHOST (stored held, never tried). */
const DSNS_WITHOUT_SMARTHOST = `SELECT count(*)::int AS n FROM dsn WHERE state = 'held' AND attempts = 0 AND last_error IS NULL`;

function round(mb: number): string {
  return mb < 10 ? mb.toFixed(1) : String(Math.round(mb));
}

export async function findActiveConditions(options: { smarthost: boolean; now?: Date }): Promise<ActiveCondition[]> {
  const now = options.now ?? new Date();
  const d = NOTIFICATION_DEFAULTS;
  const [domains, held, secrets, [dsns]] = await Promise.all([
    queueQuery<DomainRow>(DOMAINS_SQL, [d.uncollectedHours, d.heldCountLimit, d.heldMbLimit, d.expiryWarningDays]),
    queueQuery<{ id: string; name: string; customer_id: string; bounce_held_at: Date; bounce_held_evidence: { offered: number; refused: number } | null }>(
      BOUNCE_HELD,
    ),
    queueQuery<{ id: string; expires_at: Date; login: string; customer_id: string }>(SECRETS_EXPIRING),
    options.smarthost ? Promise.resolve([{ n: 0 }]) : queueQuery<{ n: number }>(DSNS_WITHOUT_SMARTHOST),
  ]);
  const active: ActiveCondition[] = [];
  for (const row of domains) {
    const data = { domain: row.name, domainId: row.id, held: row.held, megabytes: Number(round(row.mb)), oldest: row.oldest.toISOString() };
    if (row.uncollected) {
      active.push({
        condition: "uncollected",
        objectKey: row.id,
        customerId: row.customer_id,
        data,
        subject: `${row.name}: held mail not collected for over ${row.hours} hours`,
        text: `${row.held} deliveries for ${row.name} are held; the oldest arrived ${row.oldest.toISOString()} and nobody has collected it since. Check that your server connects (ATRN) or that ETRN works.`,
      });
    }
    if (row.over_count || row.over_mb) {
      active.push({
        condition: "held-volume",
        objectKey: row.id,
        customerId: row.customer_id,
        data,
        subject: `${row.name}: ${row.held} deliveries (${round(row.mb)} MB) held`,
        text: `${row.name} holds ${row.held} deliveries, ${round(row.mb)} MB in all, more than the notification limit.`,
      });
    }
    if (row.expiring > 0) {
      active.push({
        condition: "expiring",
        objectKey: row.id,
        customerId: row.customer_id,
        data: { ...data, expiring: row.expiring, withinDays: row.warn_days },
        subject: `${row.name}: ${row.expiring} held deliveries expire within ${row.warn_days} days`,
        text: `${row.expiring} deliveries held for ${row.name} reach the domain's retention within ${row.warn_days} days; then they are returned to their senders. Collect them before.`,
      });
    }
  }
  for (const row of held) {
    const e = row.bounce_held_evidence;
    active.push({
      condition: "bounce-held",
      objectKey: row.id,
      customerId: row.customer_id,
      data: { domain: row.name, domainId: row.id, since: row.bounce_held_at.toISOString(), evidence: e },
      subject: `${row.name} held: receiving server refused most recipients`,
      text: `Your server refused ${e ? `${e.refused} of ${e.offered}` : "most"} recipients of ${row.name} in one collection. The refused mail is kept, not bounced. Fix the server and choose "retry", or "bounce" if the recipients really do not exist.`,
    });
  }
  for (const row of secrets) {
    active.push({
      condition: "secret-expiring",
      objectKey: row.id,
      customerId: row.customer_id,
      data: { login: row.login, expiresAt: row.expires_at.toISOString() },
      subject: `ODMR login ${row.login}: the old secret stops working ${row.expires_at.toISOString()}`,
      text: `The rotated-out secret of login ${row.login} expires at ${row.expires_at.toISOString()}. Make sure your server uses the new one.`,
    });
  }
  const day = now.toISOString().slice(0, 10);
  const uncollected = active.filter((c) => c.condition === "uncollected").map((c) => c.data.domain as string);
  const trips = held.map((r) => r.name);
  active.push({
    condition: "staff-digest",
    objectKey: day,
    customerId: null,
    data: { day, uncollected, bounceHeld: trips, dsnsHeldWithoutSmarthost: dsns.n },
    subject: `Mailharbor digest ${day}: ${uncollected.length} domains not collected, ${trips.length} held by bounce protection, ${dsns.n} DSNs held`,
    text: [
      `Domains not collected: ${uncollected.join(", ") || "none"}`,
      `Held by bounce protection: ${trips.join(", ") || "none"}`,
      `DSNs held because no SMARTHOST is set: ${dsns.n}`,
    ].join("\n"),
  });
  return active;
}
