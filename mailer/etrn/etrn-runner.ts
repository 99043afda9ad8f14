// The ETRN runs of this mailer: ETRN on the MX and "deliver now" from the portal or the CLI both
// come here, are decided, answered (RFC 1985 §4) and recorded as a session (kind "etrn"), and
// start one run per domain (etrn-run.ts). A domain has at most one run at a time in a mailer; a
// second request while it runs is answered 250 and left to that run, which takes new mail too.
// Runs hold their delivery leases under an owner of their own, so the ODMR listener's shutdown
// (which gives back its own leases) never takes a lease from a run still delivering.
import crypto from "node:crypto";
import type { EtrnDecision, EtrnDomain } from "../../lib/etrn/decide-etrn.ts";
import { isMailharborError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log/logger.ts";
import type { AuthenticatedLogin } from "../../lib/logins/verify-odmr-login.ts";
import { releaseLeases } from "../../lib/queue/release-leases.ts";
import { finishOdmrSession, startOdmrSession } from "../../lib/sessions/record-session.ts";
import type { MailerContext } from "../service.ts";
import { ETRN_REPLIES, replyLine, type EtrnReply } from "./etrn-replies.ts";
import { EtrnRun, type RunEnd } from "./etrn-run.ts";

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
  log: Logger;
}

export class EtrnRunner {
  readonly log: Logger;
  /** runs in progress, by domain id */
  private readonly runs = new Map<string, EtrnRun>();
  /** the lease owner of ETRN runs */
  private readonly runCtx: MailerContext;
  /** session records being written, waited for at shutdown */
  private readonly writes = new Set<Promise<void>>();
  private stopping = false;

  constructor(readonly ctx: MailerContext) {
    this.log = ctx.log.child({ component: "etrn" });
    this.runCtx = { ...ctx, instanceId: `${ctx.instanceId}/etrn` };
  }

  /**
   * Decides a request, starts what it releases, records it, and returns the reply. `node` is the
   * node as the reply names it (e.g. "@example.com").
   */
  async answer(node: string, decide: () => Promise<EtrnDecision>, origin: EtrnOrigin): Promise<EtrnReply> {
    let decision: EtrnDecision;
    try {
      decision = await decide();
    } catch (error) {
      origin.log.error({ code: isMailharborError(error) ? error.code : "INTERNAL", err: error, node }, "ETRN could not be decided");
      return ETRN_REPLIES.unable(node);
    }
    if (this.stopping) return ETRN_REPLIES.unable(node);
    if (decision.kind === "not-allowed") {
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
    const fresh = decision.domains.filter((d) => !this.runs.has(d.id));
    const reply = fresh.length === 0 ? ETRN_REPLIES.started(node)
      : decision.pending === null ? ETRN_REPLIES.pending(node)
      : ETRN_REPLIES.pendingCount(node, decision.pending);
    origin.log.info({ node, domains: names, started: fresh.map((d) => d.name), pending: decision.pending }, "ETRN: queue run");
    // the runs log with the id of their session record, so one can be followed from request to QUIT
    const sessionId = crypto.randomUUID();
    const done = fresh.length === 0 ? "a run for it was already in progress" : this.start(fresh, sessionId);
    this.record(sessionId, origin, customerId, names, reply, done);
    return reply;
  }

  /** Starts one run per domain; resolves with their totals once all have ended. */
  private start(domains: EtrnDomain[], sessionId: string): Promise<RunEnd> {
    const runs = domains.map((domain) => {
      const run = new EtrnRun(this.runCtx, domain, this.log.child({ session: sessionId, domain: domain.name }));
      this.runs.set(domain.id, run);
      void run.done.finally(() => this.runs.delete(domain.id));
      return run;
    });
    return Promise.all(runs.map((r) => r.done)).then((ends) => ({
      messagesDelivered: sum(ends.map((e) => e.messagesDelivered)),
      recipientsDelivered: sum(ends.map((e) => e.recipientsDelivered)),
      bytesDelivered: sum(ends.map((e) => e.bytesDelivered)),
      outcome: ends.length === 1 ? ends[0].outcome : ends.map((e, i) => `${domains[i].name}: ${e.outcome}`).join("; "),
      tls: ends.every((e) => e.tls),
    }));
  }

  /** One session record per request; it never holds up the reply, and a database hiccup costs only a log line. */
  private record(id: string, origin: EtrnOrigin, customerId: string | null, domains: string[], reply: EtrnReply, end: string | Promise<RunEnd>): void {
    // the login is named only on its own customer's record
    const login = origin.login && origin.login.customerId === customerId ? origin.login : null;
    const write = (async () => {
      await startOdmrSession({
        id, kind: "etrn", remoteAddress: origin.remoteAddress, tls: false, customerId: customerId ?? undefined,
        loginId: login?.loginId, loginName: login?.login, domainsRequested: domains, reply: replyLine(reply),
      });
      const totals = typeof end === "string"
        ? { messagesDelivered: 0, recipientsDelivered: 0, bytesDelivered: 0, outcome: end, tls: false }
        : await end;
      await finishOdmrSession(id, totals);
    })().catch((error: unknown) => {
      origin.log.warn({ code: isMailharborError(error) ? error.code : "INTERNAL", err: error }, "could not record the ETRN session");
    });
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }

  /**
   * No new runs; runs in progress finish the message in flight and QUIT, or are cut off when the
   * grace period ends. Then every lease the runs still hold is given back.
   */
  async close(graceMs: number): Promise<void> {
    this.stopping = true;
    const runs = [...this.runs.values()];
    for (const run of runs) run.stop("mailer shutting down");
    const all = Promise.allSettled(runs.map((r) => r.done));
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
    if ((await Promise.race([all, timer])) === "timeout") {
      for (const run of runs) run.abort("mailer shutting down (grace period over)");
      await all;
    }
    await Promise.allSettled([...this.writes]);
    try {
      const released = await releaseLeases(this.runCtx.instanceId);
      if (released > 0) this.log.info({ released }, "released delivery leases of ETRN runs");
    } catch (error) {
      this.log.error({ code: isMailharborError(error) ? error.code : "INTERNAL", err: error }, "could not release leases; they expire on their own");
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
