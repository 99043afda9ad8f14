// Bounce protection (issue 12 §2). A customer's server that comes back misconfigured answers 5yz
// to everything; RFC 5321 §4.2.5 makes each 5yz final, so the relay would bounce the whole held
// queue in a minute. Per reversed session (ATRN or ETRN), when the customer's server refuses more
// than a domain's threshold share of the recipients offered in that session, once at least
// MIN_OFFERED were offered, its 5yz are no longer final: the refused recipients stay held
// (queued, marked protection_held, no DSN), the session stops after the message in flight, and
// the domain is marked "held: receiving server refused most recipients" with the evidence. Staff
// or the customer then bounce them (release-bounce-hold.ts) or let the next session retry.
//
// The decision must come before a 5yz is committed, so the rule keeps its counts per session and
// judges each message's results before they are written. Before MIN_OFFERED recipients were
// offered the share says nothing yet: the 5yz of those first recipients are kept back under the
// session's lease (not written, no DSN) until either the minimum is reached, and then they are
// bounced (share at or under the threshold) or held (over it), or the session ends first, and then
// they are bounced as today: below the minimum the rule does not apply, and a small domain's one
// unknown user must still get its DSN without waiting for more mail. If the mailer dies meanwhile
// their leases lapse and the next session asks again: nothing is bounced on a guess.
//
// While a domain is marked, every 5yz for it is held (the customer's server is known to refuse
// wrongly until someone looks); the counts still run, so a session toward a still-broken server
// stops early again. Our own refusals (SMTPUTF8, size: not the customer's reply) are not counted.
import { queueQuery } from "../db/pg-pool.ts";
import type { DeliveryOutcome } from "../queue/record-delivery-results.ts";

/** Recipients a session must have offered before the share counts. */
export const MIN_OFFERED = 5;
/** The default threshold: more than half refused trips. */
export const DEFAULT_PERCENT = 50;
/** Replies kept as evidence, each cut to REPLY_CHARS. */
const EVIDENCE_REPLIES = 10;
const REPLY_CHARS = 300;

/** The rule: more than `percent` % of at least MIN_OFFERED offered recipients were refused with 5yz. */
export function protectionTrips(offered: number, refused: number, percent: number | null): boolean {
  return percent !== null && offered >= MIN_OFFERED && refused * 100 > percent * offered;
}

/** The SQL form of "the domain is held by bounce protection", for listings and notifications. */
export const BOUNCE_HELD_SQL = "bounce_held_at IS NOT NULL";

export interface BounceEvidence {
  offered: number;
  refused: number;
  percent: number;
  /** the first refusals of the session that tripped: recipient and the customer's reply */
  replies: { recipient: string; reply: string }[];
  at: string;
}

/** What the rule needs of a recipient's result. */
export interface JudgedResult {
  delivery: { recipient: string };
  outcome: DeliveryOutcome;
  error: string | null;
  /** our own decision, never offered to the customer: not counted */
  local?: boolean;
}

export interface ResultBatch<C, R extends JudgedResult> {
  context: C;
  results: R[];
}

export interface JudgedBatch<C, R extends JudgedResult> extends ResultBatch<C, R> {
  /** every result of the message as given to judge(); false when some are kept back or come later */
  whole: boolean;
}

interface DomainRule {
  id: string;
  name: string;
  percent: number | null;
  /** 5yz are held: the domain was marked before the session or tripped in it */
  holding: boolean;
  tripped: boolean;
  offered: number;
  refused: number;
  replies: BounceEvidence["replies"];
}

/** Marks the domain held with the evidence; the episode's start (bounce_held_at) is kept when already marked. */
async function markDomainHeld(domainId: string, evidence: BounceEvidence): Promise<void> {
  await queueQuery(`UPDATE domain SET bounce_held_at = COALESCE(bounce_held_at, now()), bounce_held_evidence = $2::jsonb WHERE id = $1::uuid`, [
    domainId,
    JSON.stringify(evidence),
  ]);
}

/** One session's rule state, for the domains it releases. */
export class BounceGuard<C, R extends JudgedResult> {
  private rules: Promise<Map<string, DomainRule>> | null = null;
  /** 5yz kept back before the minimum, with their message's context */
  private pending: ResultBatch<C, R>[] = [];

  constructor(
    private readonly domainIds: string[],
    private readonly onTrip: (domain: string, evidence: BounceEvidence) => void,
  ) {}

  /** Starts reading the domains' settings (while the customer's MTA gets ready to greet). */
  prefetch(): void {
    this.load().catch(() => undefined); // a failure is seen by judge()
  }

  private load(): Promise<Map<string, DomainRule>> {
    this.rules ??= queueQuery<{ id: string; name: string; percent: number | null; marked: boolean }>(
      `SELECT id::text AS id, name, bounce_protection_percent AS percent, ${BOUNCE_HELD_SQL} AS marked FROM domain WHERE id = ANY($1::uuid[])`,
      [this.domainIds],
    ).then(
      (rows) =>
        new Map(
          rows.map((r) => [
            r.name.toLowerCase(),
            {
              id: r.id,
              name: r.name,
              percent: r.percent,
              holding: r.marked && r.percent !== null,
              tripped: false,
              offered: 0,
              refused: 0,
              replies: [],
            },
          ]),
        ),
    );
    return this.rules;
  }

  private ruleOf(rules: Map<string, DomainRule>, result: R): DomainRule | null {
    if (result.local) return null;
    const recipient = result.delivery.recipient;
    const rule = rules.get(recipient.slice(recipient.lastIndexOf("@") + 1).toLowerCase());
    return rule && rule.percent !== null ? rule : null;
  }

  /**
   * Judges one message's results before they are written: returns what to write now (this
   * message's results with held 5yz turned into "held", and earlier kept-back 5yz now decided).
   */
  async judge(batch: ResultBatch<C, R>): Promise<JudgedBatch<C, R>[]> {
    const rules = await this.load();
    const touched = new Set<DomainRule>();
    for (const result of batch.results) {
      const rule = this.ruleOf(rules, result);
      if (!rule) continue;
      touched.add(rule);
      rule.offered++;
      if (result.outcome === "bounced") {
        rule.refused++;
        if (rule.replies.length < EVIDENCE_REPLIES)
          rule.replies.push({ recipient: result.delivery.recipient, reply: (result.error ?? "").slice(0, REPLY_CHARS) });
      }
    }
    const out: JudgedBatch<C, R>[] = [];
    for (const rule of touched) {
      if (!rule.tripped && protectionTrips(rule.offered, rule.refused, rule.percent)) {
        rule.tripped = rule.holding = true;
        const evidence: BounceEvidence = {
          offered: rule.offered,
          refused: rule.refused,
          percent: rule.percent!,
          replies: rule.replies,
          at: new Date().toISOString(),
        };
        await markDomainHeld(rule.id, evidence);
        this.onTrip(rule.name, evidence);
      }
      // the kept-back 5yz of this domain are decided once the minimum is reached
      if (rule.holding || rule.offered >= MIN_OFFERED) out.push(...this.takePending(rules, rule));
    }
    const now: R[] = [];
    const kept: R[] = [];
    for (const result of batch.results) {
      const rule = result.outcome === "bounced" ? this.ruleOf(rules, result) : null;
      if (!rule) now.push(result);
      else if (rule.holding) now.push({ ...result, outcome: "held" });
      else if (rule.offered < MIN_OFFERED) kept.push(result);
      else now.push(result);
    }
    if (kept.length > 0) this.pending.push({ context: batch.context, results: kept });
    out.unshift({ context: batch.context, results: now, whole: kept.length === 0 });
    return out.filter((b) => b.results.length > 0);
  }

  /** At the session's end: the 5yz still kept back (the minimum was never reached) are final, as without the rule. */
  finish(): JudgedBatch<C, R>[] {
    const out = this.pending.map((b) => ({ ...b, whole: false }));
    this.pending = [];
    return out;
  }

  private takePending(rules: Map<string, DomainRule>, rule: DomainRule): JudgedBatch<C, R>[] {
    const out: JudgedBatch<C, R>[] = [];
    this.pending = this.pending.filter((batch) => {
      const mine = batch.results.filter((r) => this.ruleOf(rules, r) === rule);
      if (mine.length === 0) return true;
      out.push({ context: batch.context, results: mine.map((r) => (rule.holding ? { ...r, outcome: "held" as const } : r)), whole: false });
      batch.results = batch.results.filter((r) => !mine.includes(r));
      return batch.results.length > 0;
    });
    return out;
  }
}
