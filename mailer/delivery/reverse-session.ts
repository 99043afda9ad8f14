// The turned-around half of an ODMR session (RFC 2645 §4.3, §4.4): after our 250 to ATRN we
// deliver the held mail down the customer's own connection as an SMTP client, each message once
// with all of its recipients in the released domains, and end with QUIT.
//
// Per recipient (RFC 5321 §4.2.5): 2yz after the final dot → delivered; 4yz → stays held with the
// reply recorded; 5yz → bounced, with a DSN to the envelope sender (none for <>), unless bounce
// protection holds it (lib/protection/bounce-protection.ts judges every result before it is
// written). A connection lost before the final reply leaves the message held and sends no DSN.
//
// Results are committed while the next messages travel, so a round trip and a commit cost the time
// of the longer of them, not of both, and the results that wait while one commit runs go in the
// next one together (a single statement when each was delivered, record-delivery-results.ts). A
// message's final dot goes out once no more than ODMR_WINDOW - 1 earlier messages wait for their
// results to be committed; to a customer with CHUNKING and PIPELINING up to ODMR_WINDOW
// transactions are in flight (deliverInWindow). Either way, if the mailer dies, at most
// ODMR_WINDOW messages can have been accepted by the customer without that being on record: the
// only possible duplicates. A message split over several transactions by the customer's LIMITS
// (RFC 9422) is recorded once, after its last one: all of its transactions are "in flight" together.
import crypto from "node:crypto";
import type net from "node:net";
import { DeliveryFeed, type FeedItem } from "./delivery-feed.ts";
import { ReverseClientError, ReverseSmtpClient, type Capabilities, type EnvelopeReplies, type Limits, type Reply } from "./reverse-smtp-client.ts";
import { buildDsn, statusFromReply, type DsnRecipient } from "../../lib/dsn/build-dsn.ts";
import { initialDsnState } from "../../lib/dsn/send-dsns.ts";
import { errorCode } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log/logger.ts";
import type { AuthenticatedLogin } from "../../lib/logins/verify-odmr-login.ts";
import { BounceGuard } from "../../lib/protection/bounce-protection.ts";
import type { ClaimedDelivery, ClaimedMessage } from "../../lib/queue/claim-deliveries.ts";
import { releaseDeliveries } from "../../lib/queue/claim-deliveries.ts";
import { GroupCommit } from "../../lib/queue/group-commit.ts";
import { recordDeliveryResults, type DeliveryOutcome, type RecordedResult, type ResultRecord } from "../../lib/queue/record-delivery-results.ts";
import { sessionLeaseOwner } from "../../lib/queue/release-leases.ts";
import type { SessionEnd } from "../../lib/sessions/record-session.ts";
import { messageLine, type TranscriptSink } from "../../lib/sessions/session-transcript.ts";
import type { MailerContext } from "../service.ts";

export interface ReverseSessionOptions {
  ctx: MailerContext;
  log: Logger;
  socket: net.Socket;
  /** whose mail is delivered (an ETRN run has the customer but no login) */
  login: Pick<AuthenticatedLogin, "customerId">;
  domainIds: string[];
  /** when ATRN was accepted: what this session defers, it does not offer again itself */
  sessionStart: Date;
  /** the session runs inside TLS (STARTTLS or the implicit-TLS port) */
  tls: boolean;
  /** the peer's 220 was already read (an outbound ETRN connection, after STARTTLS): start with EHLO */
  greeted?: boolean;
  /** the peer is the receiving MTA itself (ETRN), not fetchmail relaying for it: pipelining inside TLS is safe */
  directPeer?: boolean;
  /** asked before every claim batch whether the session may still collect (see DeliveryFeed) */
  authorize?: () => Promise<boolean>;
  /** the session's transcript: the customer's greeting, its EHLO reply and each message's replies */
  transcript?: TranscriptSink;
}

interface RecipientResult {
  delivery: ClaimedDelivery;
  outcome: DeliveryOutcome;
  /** the customer's reply, or our own reason when we did not offer the recipient */
  error: string | null;
  /** a status of our own (RFC 3463) when the reason is ours, not the customer's */
  localStatus?: string;
  /** the customer's reply that delivered it (failures have theirs in `error`) */
  reply?: string;
  /** not offered to the customer (our own refusal): bounce protection does not count it */
  local?: boolean;
}

/** What a message's results are written with, kept while bounce protection holds some of them back. */
interface RecordContext {
  message: ClaimedMessage;
  /** the message's bytes, for the DSN of a bounce (null when none of its results is one) */
  raw: Buffer | null;
  /** its size, for the session's count of bytes delivered */
  bytes: number;
  remoteMta?: string;
}

/** A message being offered, in one or more transactions. */
interface Outgoing {
  message: ClaimedMessage;
  raw: Buffer;
  /** the replies of its finished transactions */
  results: RecipientResult[];
  /** how many of its recipients are offered in this session (fewer when MAILMAX cuts it short) */
  offered: number;
  /** its results are queued for the record (see recordOutgoing) */
  recorded?: boolean;
}

/** Results as they are written, after bounce protection judged them. */
interface JudgedWrite {
  context: RecordContext;
  results: RecipientResult[];
  complete: boolean;
}

/** The envelope of a window's transaction, sent ahead of its data (see deliverInWindow). */
interface OpenedTransaction {
  rset: Promise<Reply | null>;
  envelope: Promise<EnvelopeReplies>;
}

/** One SMTP transaction: some or all of a message's recipients; `envelope` is set once its MAIL/RCPT/DATA went out. */
interface Transaction {
  outgoing: Outgoing;
  deliveries: ClaimedDelivery[];
  /** the message's last transaction in this session: its results are recorded after it */
  last: boolean;
  envelope: Promise<EnvelopeReplies> | null;
}

const RECORD_ATTEMPTS = 3;
/** the most messages' results in one commit */
const RECORD_BATCH = 100;

const FAILURE_CODES: Record<ReverseClientError["kind"], string> = {
  timeout: "ODMR_REVERSE_TIMEOUT",
  "connection-lost": "ODMR_CONNECTION_LOST",
  protocol: "ODMR_REVERSE_PROTOCOL",
};

function outcomeOf(code: number): DeliveryOutcome {
  return code < 400 ? "delivered" : code < 500 ? "deferred" : "bounced";
}

/** The customer took at least one recipient. */
function accepts(envelope: EnvelopeReplies): boolean {
  return envelope.mail.code < 400 && envelope.rcpt.some((r) => r !== null && r.code < 400);
}

/** RFC 9422 §5.2, §5.3: recipients in order, a new transaction when RCPTMAX or RCPTDOMAINMAX would be passed. */
export function splitRecipients<T extends { recipient: string }>(deliveries: T[], limits: Limits): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let domains = new Set<string>();
  for (const delivery of deliveries) {
    const domain = delivery.recipient.slice(delivery.recipient.lastIndexOf("@") + 1).toLowerCase();
    const full =
      (limits.rcptMax > 0 && part.length >= limits.rcptMax) || (limits.rcptDomainMax > 0 && !domains.has(domain) && domains.size >= limits.rcptDomainMax);
    if (full && part.length > 0) {
      parts.push(part);
      part = [];
      domains = new Set();
    }
    part.push(delivery);
    domains.add(domain);
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

export class ReverseSession {
  private readonly client: ReverseSmtpClient;
  private readonly feed: DeliveryFeed;
  private stopReason: string | null = null;
  /** the customer's 421: it is closing the connection */
  private closing: string | null = null;
  /** each queued message's results until they are committed, oldest first (see queueRecord) */
  private unrecorded: Promise<void>[] = [];
  /** bounce protection judges the results in the order they come */
  private judging: Promise<unknown> = Promise.resolve();
  /** one commit at a time; results judged while it runs go into the next one together */
  private readonly committer: GroupCommit<JudgedWrite>;
  /** why results could not be committed: nothing more is written, and every wait for a record throws it */
  private recordFailure: unknown = null;
  private capabilities: Capabilities | null = null;
  /** transactions of the message being sent that are still to go */
  private parts: Transaction[] = [];
  /** transactions started or planned in this session (RFC 9422 MAILMAX) */
  private transactionsPlanned = 0;
  /**
   * The lease owner of this session's claims: the mailer instance and the session, so that after
   * a staff "release lease" and a claim by another session of the same mailer, this session can
   * neither renew, release nor record over that claim. The mailer's shutdown release finds every
   * session's leases by the instance prefix (release-leases.ts).
   */
  private readonly owner: string;
  private readonly counts = { messagesDelivered: 0, recipientsDelivered: 0, bytesDelivered: 0 };
  /**
   * A customer client relays this TLS session (ATRN; an ETRN run talks to the MTA itself).
   * fetchmail 6.4 relays one line per wake-up of select(2) on its socket, and OpenSSL reads one
   * TLS record at a time: once the last record of a burst is read, the socket is quiet, and the
   * lines of that record after its first wait in fetchmail's buffer (seen: the RCPT after a
   * pipelined MAIL, a final dot sent with the data). So the last line of every write we make
   * goes in a record of its own (ReverseSmtpClient's lastLineApart): pipelining works, and
   * nothing waits for a write of ours to follow. That record waits for the TCP acknowledgement of
   * the one before it (Nagle, see ReverseSmtpClient.queue), or a relay that forwards record by
   * record without TCP_NODELAY would hold each 354 for our delayed ACK.
   */
  private get relayedTls(): boolean {
    return this.options.tls && this.options.directPeer !== true;
  }
  private readonly protection: BounceGuard<RecordContext, RecipientResult>;

  constructor(private readonly options: ReverseSessionOptions) {
    const { config } = options.ctx;
    this.owner = sessionLeaseOwner(options.ctx.instanceId, crypto.randomUUID());
    this.client = new ReverseSmtpClient(
      options.socket,
      {
        greetingMs: config.REVERSE_GREETING_TIMEOUT * 1000,
        commandMs: config.REVERSE_COMMAND_TIMEOUT * 1000,
        dataInitMs: config.REVERSE_DATA_INIT_TIMEOUT * 1000,
        dataBlockMs: config.REVERSE_DATA_BLOCK_TIMEOUT * 1000,
        finalDotMs: config.REVERSE_FINAL_DOT_TIMEOUT * 1000,
      },
      this.relayedTls,
    );
    this.feed = new DeliveryFeed(
      {
        owner: this.owner,
        customerId: options.login.customerId,
        domainIds: options.domainIds,
        batch: config.ODMR_CLAIM_BATCH,
        leaseSeconds: config.LEASE_SECONDS,
        sessionStart: options.sessionStart,
        authorize: options.authorize,
      },
      (error) => options.log.warn({ code: errorCode(error), err: error }, "lease renewal failed"),
    );
    // the first batch is claimed and read while the customer's MTA gets ready to greet
    this.feed.prefetch();
    this.protection = new BounceGuard(options.domainIds, (domain, evidence) => {
      options.log.warn(
        { code: "ODMR_BOUNCE_PROTECTION_TRIPPED", domain, offered: evidence.offered, refused: evidence.refused },
        "bounce protection tripped: the refused mail stays held",
      );
      this.stop(
        `bounce protection: the customer's server refused ${evidence.refused} of ${evidence.offered} recipients of ${domain}; the refused mail stays held`,
      );
    });
    this.protection.prefetch();
    this.committer = new GroupCommit<JudgedWrite>({
      commit: (writes) => this.write(writes),
      maxItems: RECORD_BATCH,
      maxBytes: 0,
      sizeOf: () => 0,
      concurrency: 1,
    });
  }

  /** Finish the message in flight, then QUIT (shutdown, session time limit). */
  stop(reason: string): void {
    this.stopReason ??= reason;
    this.feed.stop();
  }

  /** Drop the connection now; the message in flight stays held. */
  abort(reason: string): void {
    this.stop(reason);
    this.client.abort();
  }

  async run(): Promise<SessionEnd> {
    const log = this.options.log;
    let outcome: string;
    try {
      const greeting = this.options.greeted ? null : await this.client.greeting();
      if (greeting) this.options.transcript?.add("greeting", `the customer's server greeted: ${greeting.text}`);
      if (greeting && greeting.code !== 220) {
        outcome = `the customer refused to take mail: ${greeting.text}`;
      } else {
        const hello = await this.client.hello(this.options.ctx.config.MAIL_HOSTNAME);
        this.options.transcript?.add("hello", `our EHLO ${this.options.ctx.config.MAIL_HOSTNAME}: ${hello.reply.text}`);
        if (hello.reply.code !== 250) {
          outcome = `the customer refused our EHLO/HELO: ${hello.reply.text}`;
        } else {
          // no BDAT through a TLS relay: fetchmail relays line by line, and a chunk need not end
          // in a line end (see relayedTls)
          this.capabilities = { ...hello.capabilities, chunking: hello.capabilities.chunking && !this.relayedTls };
          outcome = await this.deliverAll(this.capabilities);
        }
      }
      await this.recorded(0);
    } catch (error) {
      outcome = this.describeFailure(error);
      if (error instanceof ReverseClientError) log.info({ code: FAILURE_CODES[error.kind] }, outcome);
      else log.error({ code: errorCode(error), err: error }, "reversed session failed");
      await this.recorded(0).catch(() => undefined);
    }
    // 5yz that bounce protection kept back below its minimum are final now (see bounce-protection.ts)
    try {
      await this.write(this.protection.finish().map((batch) => ({ context: batch.context, results: batch.results, complete: false })));
    } catch (error) {
      log.error({ code: errorCode(error), err: error }, "could not record the refusals kept back; their leases will expire and they are offered again");
    }
    // what was not offered goes back before QUIT, so it is held again when the customer sees the end
    try {
      await this.feed.close();
    } catch (error) {
      log.error({ code: errorCode(error), err: error }, "could not give unsent deliveries back; their leases will expire");
    }
    await this.client.quit();
    outcome = `${outcome}; ${this.counts.messagesDelivered} messages delivered`;
    log.info({ ...this.counts, outcome }, "reversed session ended");
    return { ...this.counts, outcome };
  }

  private describeFailure(error: unknown): string {
    if (error instanceof ReverseClientError) {
      if (!this.capabilities && error.kind === "connection-lost") return `the customer closed the connection after 250 (${error.message})`;
      if (error.kind === "protocol") return `closed by us, the customer broke the protocol: ${error.message}`;
      return error.kind === "timeout" ? error.message : `connection lost: ${error.message}`;
    }
    return `stopped: ${errorCode(error)} ${(error as Error)?.message ?? ""}`.trim();
  }

  /** Sends transaction after transaction until none is left, the session is stopped or the customer closes. */
  private async deliverAll(capabilities: Capabilities): Promise<string> {
    if (capabilities.chunking && capabilities.pipelining) return this.deliverInWindow(capabilities);
    let current = await this.nextTransaction(capabilities);
    while (current) {
      const next = await this.transact(current, capabilities);
      if (this.closing) break;
      // a next transaction whose envelope already went out is finished even when stopping
      current = next ?? (await this.nextTransaction(capabilities));
    }
    return this.ending();
  }

  private ending(): string {
    return this.closing ? `the customer is closing (${this.closing})` : (this.stopReason ?? "completed");
  }

  /**
   * CHUNKING with PIPELINING: BDAT has no 354 to wait for (RFC 3030 §2), so neither need the
   * transactions wait for each other. Up to ODMR_WINDOW of them are in flight, each in one
   * write; a slot frees when the oldest one's results are committed, so a crash can leave at
   * most that many messages accepted by the customer and not on record.
   *
   * While the window is full, the next transaction's envelope (RSET, MAIL, RCPT…, which commits
   * the customer to nothing) goes out as soon as the customer has answered anything since our
   * latest write, and its BDAT once a slot is free. So a reply that frees no slot is still
   * answered by a write of ours at once: a server that answers a transaction's envelope in one
   * write and its data later in another (a Postfix smtpd answers the envelope before it waits
   * for its cleanup) holds that second write by Nagle until its first is acknowledged, and with
   * nothing to send, neither we nor a relay between us would acknowledge it before a delayed ACK
   * (about 40 ms, once per window).
   *
   * Once nothing is left to send, a NOOP goes out with the customer's next reply in the same
   * way (RFC 2920 §3.1 lets it end a group), so that the last answers do not wait either.
   *
   * A transaction whose predecessor is unanswered, or was not accepted, starts with RSET (RFC
   * 5321 §4.1.1.5; RFC 2920 §3.1 allows it anywhere in a group): after a refused BDAT or an
   * envelope without an accepted recipient the customer may still hold that transaction open
   * (RFC 3030 §2), and a MAIL sent into it would be refused as nested while its RCPTs joined the
   * old transaction.
   */
  private async deliverInWindow(capabilities: Capabilities): Promise<string> {
    const window = this.options.ctx.config.ODMR_WINDOW;
    const inFlight: Promise<void>[] = [];
    let failure: unknown = null;
    let unclean = false;
    let drained = false;
    for (;;) {
      if (inFlight.length >= window) await Promise.race([inFlight[0], this.client.replySinceWrite().catch(() => undefined)]);
      if (failure || this.closing) break;
      const tx = await this.nextTransaction(capabilities);
      drained = tx === null;
      if (!tx) break;
      if (failure || this.closing) {
        // claimed, not sent: the feed gives it back; its message's earlier answers are kept
        this.parts.unshift(tx);
        break;
      }
      const opened = this.openChunked(tx, capabilities, unclean || inFlight.length > 0);
      while (inFlight.length >= window) await inFlight.shift();
      if (failure || this.closing) {
        // its envelope went out without data: nothing of it can have been delivered; QUIT ends it
        this.parts.unshift(tx);
        break;
      }
      const { queued, done } = this.finishChunked(tx, capabilities, opened);
      inFlight.push(
        done.then(
          (clean) => {
            unclean = !clean;
          },
          (error) => {
            failure ??= error;
          },
        ),
      );
      await queued;
    }
    if (drained) {
      // nothing is left to send: a NOOP goes out with the customer's next reply, if more are to come (see above)
      const first = await Promise.race([
        Promise.all(inFlight).then(() => "done"),
        this.client.replySinceWrite().then(
          () => "reply",
          () => "done",
        ),
      ]);
      // its 250 comes before the 221 to our QUIT, which waits for the records
      if (first === "reply" && this.client.repliesAwaited > 0 && !failure && !this.closing)
        this.client.noop().then(
          (reply) => this.note(reply),
          () => undefined,
        );
    }
    await Promise.all(inFlight);
    for (const { outgoing } of this.parts.splice(0)) {
      if (outgoing.results.length > 0) this.recordOutgoing(outgoing, capabilities, false);
    }
    if (failure) throw failure;
    return this.ending();
  }

  /** Queues the envelope of one transaction of the window: RSET when `reset`, MAIL, RCPT…. */
  private openChunked(tx: Transaction, capabilities: Capabilities, reset: boolean): OpenedTransaction {
    const rset = reset ? this.client.reset() : Promise.resolve(null);
    rset.catch(() => undefined); // awaited by finishChunked, unless the session ends before the data
    return { rset, envelope: this.sendEnvelope(tx, capabilities) };
  }

  /**
   * Queues the BDAT of an opened transaction. `queued` settles once all of it is queued (another
   * may follow it on the wire); `done` once its results are taken (and, for a message's last
   * transaction, committed), true when its data was accepted.
   */
  private finishChunked(
    tx: Transaction,
    capabilities: Capabilities,
    { rset, envelope }: OpenedTransaction,
  ): { queued: Promise<unknown>; done: Promise<boolean> } {
    const bdat = this.client.bdat(tx.outgoing.raw, true);
    const queued = bdat.catch(() => undefined);
    const done = (async () => {
      try {
        const cleared = await rset;
        const replies = await envelope;
        const final = await (await bdat).verdict;
        [cleared, replies.mail, ...replies.rcpt, final].forEach((reply) => this.note(reply));
        if (cleared && cleared.code >= 400) {
          // what the customer answered inside a transaction it would not clear cannot be trusted
          this.stop(`the customer refused RSET: ${cleared.text}`);
          tx.outgoing.results.push(
            ...tx.deliveries.map((delivery) => ({ delivery, outcome: "deferred" as const, error: `our RSET was refused: ${cleared.text}` })),
          );
        } else {
          tx.outgoing.results.push(...this.resultsOf(tx, replies, final));
        }
        if (tx.last || this.closing) {
          this.recordOutgoing(tx.outgoing, capabilities, !this.closing);
          await this.recorded(0);
        }
        return final.code < 400 && !(cleared && cleared.code >= 400);
      } catch (error) {
        if (error instanceof ReverseClientError) await this.giveBack(tx, capabilities, error);
        throw error;
      }
    })();
    return { queued, done };
  }

  /**
   * The next transaction: the next part of the message being sent, or the first of the next
   * message. RFC 9422 §5: a message's recipients are split over as many transactions as RCPTMAX
   * and RCPTDOMAINMAX ask for, and after MAILMAX transactions the session ends (what is left
   * stays held for the next session). Null when done or stopping.
   */
  private async nextTransaction(capabilities: Capabilities): Promise<Transaction | null> {
    const pending = this.parts.shift();
    if (pending) return pending;
    const { mailMax } = capabilities.limits;
    if (mailMax > 0 && this.transactionsPlanned >= mailMax) {
      this.stop(`the customer's LIMITS MAILMAX=${mailMax} is reached; the rest stays held`);
      return null;
    }
    const outgoing = await this.nextToSend(capabilities);
    if (!outgoing) return null;
    let parts = splitRecipients(outgoing.message.deliveries, capabilities.limits);
    if (mailMax > 0) parts = parts.slice(0, mailMax - this.transactionsPlanned);
    this.transactionsPlanned += parts.length;
    outgoing.offered = parts.reduce((n, p) => n + p.length, 0);
    this.parts = parts.map((deliveries, i) => ({ outgoing, deliveries, last: i === parts.length - 1, envelope: null }));
    return this.parts.shift()!;
  }

  /** The next message to offer (those refused locally are recorded on the way); null when done or stopping. */
  private async nextToSend(capabilities: Capabilities): Promise<Outgoing | null> {
    for (;;) {
      if (this.stopReason) return null;
      const item = await this.feed.next();
      if (!item) return null;
      const refusal = this.localRefusal(item, capabilities);
      if (!refusal) return { message: item.message, raw: item.raw!, results: [], offered: 0 };
      this.queueRecord(item.message, item.raw, refusal);
    }
  }

  /** Results for a message we do not offer at all, or null to offer it. */
  private localRefusal({ message, raw }: FeedItem, capabilities: Capabilities): RecipientResult[] | null {
    const refuse = (outcome: DeliveryOutcome, error: string, localStatus?: string) =>
      message.deliveries.map((delivery) => ({ delivery, outcome, error, localStatus, local: true }));
    if (!raw) {
      this.options.log.error({ code: "QUEUE_BODY_MISSING", messageId: message.messageId }, "held message has no bytes");
      return refuse("deferred", "the message's bytes are missing from the queue");
    }
    if (message.smtputf8 && !capabilities.smtputf8) {
      // RFC 6531 §3.5: a message that needs SMTPUTF8 cannot go to a server without it
      return refuse("bounced", "the recipient's mail server does not accept internationalized mail (SMTPUTF8)", "5.6.7");
    }
    if (capabilities.maxSize > 0 && raw.length > capabilities.maxSize) {
      // RFC 1870 §6.1: the customer declared it will not take a message this large
      return refuse("bounced", `the message (${raw.length} bytes) is larger than the recipient's mail server accepts (${capabilities.maxSize})`, "5.3.4");
    }
    return null;
  }

  private sendEnvelope({ outgoing: { message, raw }, deliveries }: Transaction, capabilities: Capabilities): Promise<EnvelopeReplies> {
    const params: string[] = [];
    if (capabilities.maxSize > 0) params.push(`SIZE=${raw.length}`);
    if (message.bodyType?.toUpperCase() === "8BITMIME" && capabilities.eightBitMime) params.push("BODY=8BITMIME");
    if (message.smtputf8) params.push("SMTPUTF8");
    const envelope = this.client.envelope(
      message.mailFrom,
      params,
      deliveries.map((d) => d.recipient),
      capabilities.pipelining,
      !capabilities.chunking,
    );
    envelope.catch(() => undefined); // awaited by transact() or finishChunked(); a failure is seen there
    return envelope;
  }

  /**
   * One transaction. Whatever is sent between two waits for replies leaves in one write (see
   * ReverseSmtpClient.queue), and the final dot (or BDAT LAST) goes out only once every result
   * but the latest one is committed (see the header). With DATA and PIPELINING the next envelope
   * leaves in the same write as the final dot (RFC 2920 §3.1): one round trip per message. With
   * CHUNKING (RFC 3030) and no PIPELINING the chunk follows the RCPT replies (with PIPELINING,
   * deliverInWindow).
   */
  private async transact(tx: Transaction, capabilities: Capabilities): Promise<Transaction | null> {
    const { outgoing } = tx;
    const { raw } = outgoing;
    let next: Transaction | null = null;
    try {
      let envelope: EnvelopeReplies;
      let final: Reply | null = null;
      if (capabilities.chunking) {
        await this.recorded(this.options.ctx.config.ODMR_WINDOW - 1);
        envelope = await this.sendEnvelope(tx, capabilities);
        if (accepts(envelope)) final = await (await this.client.bdat(raw, false)).verdict;
      } else {
        envelope = await (tx.envelope ?? this.sendEnvelope(tx, capabilities));
        if (envelope.data?.code === 354 && accepts(envelope)) {
          // big bodies go ahead in full blocks; the last block, the dot and the next envelope wait
          // for the records beyond the window (see the header) and then leave as one write
          const tail = await this.client.bodyHead(raw);
          next = capabilities.pipelining ? await this.nextTransaction(capabilities) : null;
          await this.recorded(this.options.ctx.config.ODMR_WINDOW - 1);
          const dot = this.client.finishData(tail);
          if (next) next.envelope = this.sendEnvelope(next, capabilities);
          final = await dot;
        }
      }
      [envelope.mail, ...envelope.rcpt, envelope.data, final].forEach((reply) => this.note(reply));
      outgoing.results.push(...this.resultsOf(tx, envelope, final));
      // a reply to the final dot ends the transaction either way (RFC 5321 §4.1.1.4); a refused
      // BDAT does not (RFC 3030 §2), nor does an envelope without data
      if (!final || (capabilities.chunking && final.code >= 400)) this.note(await this.endFailedTransaction(envelope, capabilities, this.closing !== null));
      if (tx.last || this.closing) this.recordOutgoing(outgoing, capabilities, !this.closing);
    } catch (error) {
      if (error instanceof ReverseClientError) await this.giveBack(tx, capabilities, error);
      throw error;
    }
    return this.closing ? null : next;
  }

  /** A 421 means the customer is closing the connection (RFC 5321 §3.8): nothing more is sent. */
  private note(reply: Reply | null): void {
    if (reply?.code === 421) this.closing ??= reply.text;
  }

  /** Each recipient's outcome from the replies to its transaction. */
  private resultsOf(tx: Transaction, envelope: EnvelopeReplies, final: Reply | null): RecipientResult[] {
    return tx.deliveries.map((delivery, i) => {
      const reply = envelope.mail.code >= 400 ? envelope.mail : envelope.rcpt[i]!;
      if (reply.code >= 400) return { delivery, outcome: outcomeOf(reply.code), error: reply.text };
      // the recipient was taken; the data decides (RFC 3030 §2: a refused chunk fails the whole
      // transaction). Without a final reply the data was refused (its reply) or never sent.
      const decided = final ?? (envelope.data && envelope.data.code >= 400 ? envelope.data : null);
      if (!decided) return { delivery, outcome: "deferred", error: envelope.data ? `${envelope.data.text} (no data was sent)` : "no recipient was accepted" };
      return { delivery, outcome: outcomeOf(decided.code), error: decided.code < 400 ? null : decided.text, reply: decided.text };
    });
  }

  /**
   * Lost or timed out before the final reply: this transaction's recipients stay held, no DSN;
   * earlier transactions of the message keep their replies (a next transaction whose envelope
   * went out is still the feed's, which gives it back untouched).
   */
  private async giveBack(tx: Transaction, capabilities: Capabilities, error: ReverseClientError): Promise<void> {
    const { outgoing } = tx;
    if (outgoing.results.length > 0) this.recordOutgoing(outgoing, capabilities, false);
    const answered = new Set(outgoing.results.map((r) => r.delivery.id));
    const ids = tx.deliveries.map((d) => d.id).filter((id) => !answered.has(id));
    this.feed.settle(ids);
    const why = error.kind === "timeout" ? error.message : `${error.kind === "protocol" ? "protocol error" : "connection lost"}: ${error.message}`;
    await releaseDeliveries(this.owner, ids, { error: why }).catch((e) =>
      this.options.log.error({ code: errorCode(e), err: e }, "could not give the message in flight back; its lease will expire"),
    );
  }

  /** Queues a message's results for the record, once; `complete`: every recipient it has here was answered. */
  private recordOutgoing(outgoing: Outgoing, capabilities: Capabilities, complete: boolean): void {
    if (outgoing.recorded) return;
    outgoing.recorded = true;
    this.queueRecord(
      outgoing.message,
      outgoing.raw,
      outgoing.results,
      capabilities.serverName,
      complete && outgoing.offered === outgoing.message.deliveries.length,
    );
  }

  /**
   * A transaction that did not end in a 2yz is cleared: a 354 still needs its data ended (RFC
   * 2920 §3.1), and RSET clears what the customer kept (RFC 5321 §4.1.1.5; after a refused BDAT,
   * RFC 3030 §2). With PIPELINING the dot and RSET leave together.
   */
  private async endFailedTransaction(envelope: EnvelopeReplies, capabilities: Capabilities, closing: boolean): Promise<Reply | null> {
    const open = envelope.data?.code === 354 && !accepts(envelope);
    const dot = open ? this.client.finishData(Buffer.alloc(0)) : null;
    dot?.catch(() => undefined);
    if (dot && !capabilities.pipelining) await dot;
    const rset = envelope.mail.code < 400 && !closing ? this.client.reset() : null;
    const replies = await Promise.all([dot, rset]);
    return replies.find((r) => r?.code === 421) ?? null;
  }

  /**
   * Queues a message's results for the record; `complete`: every claimed recipient of the message
   * has a result here (else others still need its bytes). Results are committed in the order they
   * are queued: one write at a time, each taking all that are waiting (see the header).
   */
  private queueRecord(message: ClaimedMessage, raw: Buffer | null, results: RecipientResult[], remoteMta?: string, complete = true): void {
    // after a failure nothing more is written; it surfaces at the next wait (recorded)
    if (this.recordFailure) return;
    // the bytes are kept only for the DSN a bounce owes: the window's delivered messages hold none
    const context = { message, raw: results.some((r) => r.outcome === "bounced") ? raw : null, bytes: raw?.length ?? 0, remoteMta };
    const judged = this.judging.then(() => this.protection.judge({ context, results }));
    this.judging = judged.catch(() => undefined);
    const committed = judged.then(async (batches) => {
      await Promise.all(batches.map((b) => this.committer.submit({ context: b.context, results: b.results, complete: complete && b.whole })));
    });
    const settled = () => void this.unrecorded.splice(this.unrecorded.indexOf(committed), 1);
    committed.then(settled, (error: unknown) => {
      this.recordFailure ??= error;
      settled();
    });
    this.unrecorded.push(committed);
  }

  /** Waits until at most `n` queued messages' results are still to be committed; then throws the failure of a write, if one failed. */
  private async recorded(n: number): Promise<void> {
    while (this.unrecorded.length > n) await this.unrecorded[this.unrecorded.length - 1 - n].catch(() => undefined);
    if (this.recordFailure) throw this.recordFailure;
  }

  private async write(writes: JudgedWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const { log } = this.options;
    const records = writes.map(({ context, results, complete }) => this.resultRecord(context, results, complete));
    let recorded: RecordedResult[];
    for (let attempt = 1; ; attempt++) {
      try {
        recorded = await recordDeliveryResults(this.owner, records);
        break;
      } catch (error) {
        if (attempt >= RECORD_ATTEMPTS) throw error;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
    writes.forEach(({ context: { message, bytes }, results }, i) => {
      // the transcript shows the outcome as written (after bounce protection judged it), once:
      // a batch refused as a whole is written again message by message (GroupCommit)
      this.options.transcript?.add(
        "message",
        messageLine(
          message.messageId,
          message.mailFrom,
          results.map((r) => ({ recipient: r.delivery.recipient, outcome: r.outcome, reply: r.error ?? r.reply ?? null })),
        ),
      );
      if (recorded[i].updated < results.length) {
        log.warn({ code: "ODMR_LEASE_LOST", messageId: message.messageId }, "some deliveries were no longer ours when their result came");
      }
      this.feed.settle(results.map((r) => r.delivery.id));
      const delivered = results.filter((r) => r.outcome === "delivered").length;
      if (delivered > 0) {
        this.counts.messagesDelivered++;
        this.counts.recipientsDelivered += delivered;
        this.counts.bytesDelivered += bytes;
      }
      if (log.isLevelEnabled("debug")) {
        log.debug(
          { messageId: message.messageId, results: results.map((r) => ({ rcpt: r.delivery.recipient, outcome: r.outcome, error: r.error })) },
          "message result",
        );
      }
    });
  }

  /** What one message's results are written as, with the DSN a bounce owes. */
  private resultRecord({ message, raw, remoteMta }: RecordContext, results: RecipientResult[], complete: boolean): ResultRecord {
    const { ctx } = this.options;
    const bounced = results.filter((r) => r.outcome === "bounced");
    let dsn = null;
    // RFC 5321 §6.1: no DSN to the null sender
    if (bounced.length > 0 && message.mailFrom) {
      const now = new Date();
      const recipients: DsnRecipient[] = bounced.map((r) => ({
        recipient: r.delivery.recipient,
        action: "failed",
        status: r.localStatus ?? statusFromReply(r.error ?? "550"),
        diagnostic: r.localStatus ? null : r.error,
        remoteMta: remoteMta || null,
        lastAttempt: now,
      }));
      dsn = {
        rcptTo: message.mailFrom,
        state: initialDsnState(ctx.config.SMARTHOST),
        raw: buildDsn({
          kind: "bounced",
          reportingMta: ctx.config.MAIL_HOSTNAME,
          recipients,
          now,
          original: { queueId: message.messageId, mailFrom: message.mailFrom, receivedAt: message.receivedAt, raw },
        }),
      };
    }
    return {
      messageId: message.messageId,
      exclusive: message.exclusive && complete,
      dsn,
      results: results.map((r) => ({ deliveryId: r.delivery.id, outcome: r.outcome, error: r.error })),
    };
  }
}
