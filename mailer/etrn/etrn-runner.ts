// The ETRN runs of this mailer: ETRN on the MX and "deliver now" from the portal or the CLI both
// come here, are decided, answered (RFC 1985 §4) and recorded as a session (kind "etrn"), and
// start one run per domain (etrn-run.ts). A domain has at most one run at a time across all
// mailers (lib/etrn/etrn-run-marker.ts). A request while it runs is answered 250 and left to that
// run, which takes new mail too; it writes no session record and asks only for one follow-up run
// when the run ends, however many such requests come. A login (or, without AUTH, a client
// address) may ask ETRN_RATE_PER_MINUTE times a minute; past that 458, before any database work.
// Runs hold their delivery leases under an owner of their own, so the ODMR listener's shutdown
// (which gives back its own leases) never takes a lease from a run still delivering.
import crypto from "node:crypto";
import { ETRN_REPLIES, replyLine, type EtrnReply } from "./etrn-replies.ts";
import { EtrnRun, type RunEnd } from "./etrn-run.ts";
import { errorCode } from "../../lib/errors.ts";
import { claimEtrnRuns, ETRN_RUN_MARKER_SECONDS, finishEtrnRun, renewEtrnRuns } from "../../lib/etrn/etrn-run-marker.ts";
import type { Logger } from "../../lib/log/logger.ts";
import type { AuthenticatedLogin } from "../../lib/logins/verify-odmr-login.ts";
import { releaseLeases } from "../../lib/queue/release-leases.ts";
import { decideEtrnRelease, type EtrnDecision, type EtrnDomain } from "../../lib/release/decide-etrn.ts";
import { finishOdmrSession, startOdmrSession } from "../../lib/sessions/record-session.ts";
import { AtrnRateLimiter } from "../odmr/atrn-rate-limiter.ts";
import type { MailerContext } from "../service.ts";

/** Who asked for a run. */
export interface EtrnOrigin {
  /** the client's address, or who asked from the portal or the CLI ("staff: …", "cli") */
  remoteAddress: string;
  login: AuthenticatedLogin | null;
  /** the customer a refusal is recorded under: the login's, or the domain's for a staff request */
  customerId: string | null;
  /**
   * Whether a refusal gets a session record. Not for clients that did not authenticate: anyone
   * can send ETRN to an MX, and the session list must not fill up with strangers' attempts.
   */
  recordRefusal: boolean;
  /** what ETRN_RATE_PER_MINUTE counts the request under ("login:…", "address:…"); null: not limited (staff, CLI) */
  rateKey: string | null;
  log: Logger;
}

/**
 * After a run whose target could not take mail, the domain's next run starts no sooner than this
 * after it started: requests meanwhile join it (250) and the follow-up comes then, so a client
 * that repeats ETRN against a target that is down does not start one futile run per request.
 */
const RETRY_SPACING_MS = 10_000;

/** A run in progress in this mailer. */
interface RunSlot {
  run: EtrnRun;
  startedAt: number;
  origin: EtrnOrigin;
  /** asked for again while it ran (the first such request): one follow-up run */
  followUp: EtrnOrigin | null;
}

export class EtrnRunner {
  readonly log: Logger;
  /** runs in progress, by domain id */
  private readonly runs = new Map<string, RunSlot>();
  private readonly rate: AtrnRateLimiter;
  private renewal: NodeJS.Timeout | null = null;
  /** the lease owner of ETRN runs */
  private readonly runCtx: MailerContext;
  /** session records being written and ended runs being cleared up, waited for at shutdown */
  private readonly writes = new Set<Promise<void>>();
  private stopping = false;
  /** ends the pauses between runs at shutdown */
  private readonly wakers = new Set<() => void>();

  constructor(readonly ctx: MailerContext) {
    this.log = ctx.log.child({ component: "etrn" });
    this.runCtx = { ...ctx, instanceId: `${ctx.instanceId}/etrn` };
    this.rate = new AtrnRateLimiter(ctx.config.ETRN_RATE_PER_MINUTE);
  }

  private get owner(): string {
    return this.runCtx.instanceId;
  }

  /**
   * Decides a request, starts what it releases, records it, and returns the reply. `node` is the
   * node as the reply names it (e.g. "@example.com").
   */
  async answer(node: string, decide: () => Promise<EtrnDecision>, origin: EtrnOrigin): Promise<EtrnReply> {
    if (this.stopping) return ETRN_REPLIES.unable(node);
    // counted before the decision, so a flood costs no database work; a refusal is given back below
    if (origin.rateKey && !this.rate.allow(origin.rateKey)) {
      origin.log.info({ code: "ETRN_RATE_LIMITED", node, limit: this.ctx.config.ETRN_RATE_PER_MINUTE }, "ETRN refused: too many requests");
      return ETRN_REPLIES.rateLimited(node);
    }
    let decision: EtrnDecision;
    try {
      decision = await decide();
    } catch (error) {
      origin.log.error({ code: errorCode(error), err: error, node }, "ETRN could not be decided");
      return ETRN_REPLIES.unable(node);
    }
    if (this.stopping) return ETRN_REPLIES.unable(node);
    if (decision.kind === "not-allowed") {
      // a prober's refusals are the MX's error limit's business (459 counts there), not the rate's
      if (origin.rateKey) this.rate.refund(origin.rateKey);
      const reply = ETRN_REPLIES.notAllowed(node);
      origin.log.info({ code: "ETRN_REFUSED", node, reason: decision.reason }, "ETRN refused");
      if (origin.recordRefusal) this.record(crypto.randomUUID(), origin, origin.customerId, [node.replace(/^@/, "")], reply, `refused: ${decision.reason}`);
      return reply;
    }
    const names = decision.domains.map((d) => d.name);
    const customerId = commonCustomer(decision.domains);
    if (decision.kind === "no-mail") {
      const reply = ETRN_REPLIES.noMessages(node);
      origin.log.info({ node, domains: names }, "ETRN: no mail waiting");
      this.record(crypto.randomUUID(), origin, customerId, names, reply, "no messages waiting");
      return reply;
    }
    let fresh: EtrnDomain[];
    try {
      fresh = await this.claim(decision.domains, origin);
    } catch (error) {
      origin.log.error({ code: errorCode(error), err: error, node }, "ETRN run could not be claimed");
      return ETRN_REPLIES.unable(node);
    }
    if (this.stopping) {
      await this.release(fresh);
      return ETRN_REPLIES.unable(node);
    }
    if (fresh.length === 0) {
      origin.log.info({ node, domains: names }, "ETRN: joined the run in progress");
      return ETRN_REPLIES.started(node);
    }
    const reply = decision.pending === null ? ETRN_REPLIES.pending(node) : ETRN_REPLIES.pendingCount(node, decision.pending);
    origin.log.info({ node, domains: names, started: fresh.map((d) => d.name), pending: decision.pending }, "ETRN: queue run");
    // the runs log with the id of their session record, so one can be followed from request to QUIT
    const sessionId = crypto.randomUUID();
    this.record(sessionId, origin, customerId, names, reply, this.start(fresh, sessionId, origin));
    return reply;
  }

  /**
   * The domains this request starts a run for: those with no run in progress in any mailer. The
   * others get a follow-up asked for: here in memory, in another mailer through its marker.
   */
  private async claim(domains: EtrnDomain[], origin: EtrnOrigin): Promise<EtrnDomain[]> {
    const elsewhere: EtrnDomain[] = [];
    for (const domain of domains) {
      const local = this.runs.get(domain.id);
      if (local) local.followUp ??= origin;
      else elsewhere.push(domain);
    }
    const claimed = new Set(
      await claimEtrnRuns(
        elsewhere.map((d) => d.id),
        this.owner,
      ),
    );
    return elsewhere.filter((d) => claimed.has(d.id));
  }

  private async release(domains: EtrnDomain[]): Promise<void> {
    for (const domain of domains) await finishEtrnRun(domain.id, this.owner).catch(() => undefined);
  }

  /** Starts one run per (claimed) domain; resolves with their totals once all have ended. */
  private start(domains: EtrnDomain[], sessionId: string, origin: EtrnOrigin): Promise<RunEnd> {
    const runs = domains.map((domain) => {
      const run = new EtrnRun(this.runCtx, domain, this.log.child({ session: sessionId, domain: domain.name }));
      const slot: RunSlot = { run, startedAt: Date.now(), origin, followUp: null };
      this.runs.set(domain.id, slot);
      this.renewMarkers();
      // waited for at shutdown like the session records, so the marker is cleared before the mailer exits
      this.track(run.done.then((end) => this.ended(domain, slot, end)));
      return run;
    });
    return Promise.all(runs.map((r) => r.done)).then((ends) => ({
      messagesDelivered: sum(ends.map((e) => e.messagesDelivered)),
      recipientsDelivered: sum(ends.map((e) => e.recipientsDelivered)),
      bytesDelivered: sum(ends.map((e) => e.bytesDelivered)),
      outcome: ends.length === 1 ? ends[0].outcome : ends.map((e, i) => `${domains[i].name}: ${e.outcome}`).join("; "),
      tls: ends.every((e) => e.tls),
      // the request's record says "failed" only when no domain's run could take place; the outcome names each
      releaseFailed: ends.every((e) => e.releaseFailed),
    }));
  }

  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /** Keeps the markers of this mailer's runs alive while any run goes. */
  private renewMarkers(): void {
    if (this.renewal) return;
    this.renewal = setInterval(
      () => {
        const ids = [...this.runs.keys()];
        if (ids.length === 0) {
          clearInterval(this.renewal!);
          this.renewal = null;
          return;
        }
        renewEtrnRuns(ids, this.owner).then(
          (held) => {
            const lost = ids.filter((id) => !held.includes(id) && this.runs.has(id));
            // the delivery leases still keep each recipient to one session; only the coalescing is lost
            if (lost.length) this.log.warn({ code: "ETRN_MARKER_LOST", domains: lost }, "the run marker lapsed and was taken over");
          },
          (error) => this.log.warn({ code: errorCode(error), err: error }, "could not renew ETRN run markers"),
        );
      },
      (ETRN_RUN_MARKER_SECONDS * 1000) / 3,
    );
    this.renewal.unref();
  }

  /** A run ended: free its marker, and start the one follow-up if a request came meanwhile (here or in another mailer). */
  private async ended(domain: EtrnDomain, slot: RunSlot, end: RunEnd): Promise<void> {
    slot.run.log.info({ code: "ETRN_RUN_ENDED", outcome: end.outcome, messages: end.messagesDelivered }, "ETRN run ended");
    // the slot and its marker stay while the spacing runs, so requests meanwhile join this run
    if (end.targetFailed) await this.pause(slot.startedAt + RETRY_SPACING_MS - Date.now());
    this.runs.delete(domain.id);
    let askedElsewhere = false;
    try {
      askedElsewhere = await finishEtrnRun(domain.id, this.owner);
    } catch (error) {
      this.log.warn({ code: errorCode(error), err: error, domain: domain.name }, "could not clear the ETRN run marker; it lapses by itself");
    }
    if (this.stopping || (!slot.followUp && !askedElsewhere)) return;
    const origin = slot.followUp ?? slot.origin;
    try {
      // as for "deliver now": the domain's own settings still allow it, and mail is still held
      const decision = await decideEtrnRelease(domain.id);
      if (decision.kind !== "start" || this.stopping) return;
      const [claimed] = await claimEtrnRuns([domain.id], this.owner);
      if (!claimed) return;
      const sessionId = crypto.randomUUID();
      origin.log.info({ node: domain.name, session: sessionId }, "ETRN: follow-up run for the requests that came during the last one");
      this.record(sessionId, origin, domain.customerId, [domain.name], ETRN_REPLIES.started(domain.name), this.start([domain], sessionId, origin));
    } catch (error) {
      this.log.warn({ code: errorCode(error), err: error, domain: domain.name }, "could not start the follow-up ETRN run");
    }
  }

  /** One session record per request; it never holds up the reply, and a database hiccup costs only a log line. */
  private record(id: string, origin: EtrnOrigin, customerId: string | null, domains: string[], reply: EtrnReply, end: string | Promise<RunEnd>): void {
    // the login is named only on its own customer's record
    const login = origin.login && origin.login.customerId === customerId ? origin.login : null;
    const write = (async () => {
      await startOdmrSession({
        id,
        kind: "etrn",
        remoteAddress: origin.remoteAddress,
        tls: false,
        customerId: customerId ?? undefined,
        loginId: login?.loginId,
        loginName: login?.login,
        domainsRequested: domains,
        reply: replyLine(reply),
      });
      const totals = typeof end === "string" ? { messagesDelivered: 0, recipientsDelivered: 0, bytesDelivered: 0, outcome: end, tls: false } : await end;
      await finishOdmrSession(id, totals);
    })().catch((error: unknown) => {
      origin.log.warn({ code: errorCode(error), err: error }, "could not record the ETRN session");
    });
    this.track(write);
  }

  private track(work: Promise<void>): void {
    this.writes.add(work);
    void work.finally(() => this.writes.delete(work));
  }

  /**
   * No new runs; runs in progress finish the message in flight and QUIT, or are cut off when the
   * grace period ends. Then every lease the runs still hold is given back.
   */
  async close(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.wakers]) wake();
    const runs = [...this.runs.values()].map((slot) => slot.run);
    for (const run of runs) run.stop("mailer shutting down");
    const all = Promise.allSettled(runs.map((r) => r.done));
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
    if ((await Promise.race([all, timer])) === "timeout") {
      for (const run of runs) run.abort("mailer shutting down (grace period over)");
      await all;
    }
    await Promise.allSettled([...this.writes]);
    if (this.renewal) clearInterval(this.renewal);
    try {
      const released = await releaseLeases(this.runCtx.instanceId);
      if (released > 0) this.log.info({ released }, "released delivery leases of ETRN runs");
    } catch (error) {
      this.log.error({ code: errorCode(error), err: error }, "could not release leases; they expire on their own");
    }
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function commonCustomer(domains: EtrnDomain[]): string | null {
  const ids = new Set(domains.map((d) => d.customerId));
  return ids.size === 1 ? [...ids][0] : null;
}
