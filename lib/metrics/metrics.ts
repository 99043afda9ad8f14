// Every Prometheus metric of Mailharbor, in one registry. The code that does the work counts
// here (a counter `inc` or a histogram `observe` is a few field updates, no allocation once a
// label set has been seen); what the database or a listener already knows (held mail, open
// connections) is read when Prometheus scrapes, through the collectors registered below.
// Only the mailer serves the registry (mailer/metrics/start-metrics.ts, METRICS_PORT); in the
// portal and the CLI the counters are counted and never read.
import client from "prom-client";
import { classifyDbError, MailharborError } from "../errors.ts";

export const registry = new client.Registry();

/** Latency buckets for single database statements and commits: 1 ms to 10 s. */
const DB_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export const deliveries = new client.Counter({
  name: "mailharbor_deliveries_total",
  help: "Recipient deliveries finished or put back, by outcome (delivered, deferred, bounced: the customer's reply in an ATRN session; held: a refusal kept back by bounce protection; expired: past the domain's retention)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const intakeReplies = new client.Counter({
  name: "mailharbor_intake_replies_total",
  help: "MX replies to RCPT TO and to the end of DATA, by command and reply class (2xx accepted, 4xx deferred, 5xx refused)",
  labelNames: ["command", "class"] as const,
  registers: [registry],
});

export const odmrSessions = new client.Counter({
  name: "mailharbor_odmr_sessions_total",
  help: "ODMR sessions ended, by result (released, no-mail, failed, refused, no-atrn; lib/sessions/session-result.ts)",
  labelNames: ["result"] as const,
  registers: [registry],
});

export const atrnDecisionSeconds = new client.Histogram({
  name: "mailharbor_atrn_decision_seconds",
  help: "Time from ATRN to its decision (which domains, whether mail is held), by decision",
  labelNames: ["decision"] as const,
  buckets: DB_SECONDS,
  registers: [registry],
});

export const claimSeconds = new client.Histogram({
  name: "mailharbor_queue_claim_seconds",
  help: "Time to claim one batch of held deliveries for an ATRN session",
  buckets: DB_SECONDS,
  registers: [registry],
});

export const commitSeconds = new client.Histogram({
  name: "mailharbor_queue_commit_seconds",
  help: "Time to commit to the database: intake (one group commit of accepted messages) or results (one message's delivery results)",
  labelNames: ["operation"] as const,
  buckets: DB_SECONDS,
  registers: [registry],
});

export const doorRefusals = new client.Counter({
  name: "mailharbor_door_refusals_total",
  help: "Connections refused or closed before any session: busy (the listener's connection limit), per-address (the per-address limit), preauth-timeout (ODMR: no AUTH in time)",
  labelNames: ["listener", "reason"] as const,
  registers: [registry],
});

export const databaseErrors = new client.Counter({
  name: "mailharbor_database_errors_total",
  help: "Failed database statements, by the error code they were classified as (DB_UNAVAILABLE, CONFLICT, INTERNAL)",
  labelNames: ["code"] as const,
  registers: [registry],
});

/** classifyDbError, counting what the database itself failed with (not errors the caller's own work threw). */
export function classifyCountedDbError(error: unknown): MailharborError {
  const classified = classifyDbError(error);
  if (classified !== error) databaseErrors.inc({ code: classified.code });
  return classified;
}

/** The class label of an SMTP reply code (RFC 5321 §4.2.1: the first digit). */
export function replyClass(code: number): "2xx" | "3xx" | "4xx" | "5xx" {
  return code >= 500 ? "5xx" : code >= 400 ? "4xx" : code >= 300 ? "3xx" : "2xx";
}

type ConnectionCount = () => number;
const connectionCounts = new Map<string, ConnectionCount>();

new client.Gauge({
  name: "mailharbor_connections",
  help: "Open connections per listener (mx; odmr: both ODMR listeners together, before and after the turn-around, as ODMR_MAX_CONNECTIONS counts them)",
  labelNames: ["listener"] as const,
  registers: [registry],
  collect() {
    for (const [listener, count] of connectionCounts) this.set({ listener }, count());
  },
});

/** A listener's open connections are read from `count` at each scrape. */
export function trackConnections(listener: string, count: ConnectionCount): void {
  connectionCounts.set(listener, count);
}
