// The turned-around half of an ODMR session (RFC 2645 §4.3, §4.4): after our 250 to ATRN we
// deliver the held mail down the customer's own connection as an SMTP client, each message once
// with all of its recipients in the released domains, and end with QUIT.
//
// Per recipient (RFC 5321 §4.2.5): 2yz after the final dot → delivered; 4yz → stays held with the
// reply recorded; 5yz → bounced, with a DSN to the envelope sender (none for <>). A connection
// lost before the final reply leaves the message held and sends no DSN.
//
// A message's result is committed before the next message's final dot is sent (its envelope and
// data go out meanwhile). So if the mailer dies, at most one message can have been accepted by
// the customer without that being on record: the one in flight, the only possible duplicate.
import type net from "node:net";
import { buildDsn, statusFromReply, type DsnRecipient } from "../../lib/dsn/build-dsn.ts";
import { initialDsnState } from "../../lib/dsn/send-dsns.ts";
import { isMailharborError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log/logger.ts";
import type { AuthenticatedLogin } from "../../lib/logins/verify-odmr-login.ts";
import type { ClaimedDelivery, ClaimedMessage } from "../../lib/queue/claim-deliveries.ts";
import { releaseDeliveries } from "../../lib/queue/claim-deliveries.ts";
import { recordDeliveryResults, type DeliveryOutcome } from "../../lib/queue/record-delivery-results.ts";
import type { SessionEnd } from "../../lib/sessions/record-session.ts";
import type { MailerContext } from "../service.ts";
import { DeliveryFeed, type FeedItem } from "./delivery-feed.ts";
import { ReverseClientError, ReverseSmtpClient, WRITE_CHUNK, type Capabilities, type EnvelopeReplies, type Reply } from "./reverse-smtp-client.ts";

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
}

interface RecipientResult {
  delivery: ClaimedDelivery;
  outcome: DeliveryOutcome;
  /** the customer's reply, or our own reason when we did not offer the recipient */
  error: string | null;
  /** a status of our own (RFC 3463) when the reason is ours, not the customer's */
  localStatus?: string;
}

/** A message about to be offered; `envelope` is set once its MAIL/RCPT/DATA went out. */
interface Outgoing {
  message: ClaimedMessage;
  raw: Buffer;
  envelope: Promise<EnvelopeReplies> | null;
}

const RECORD_ATTEMPTS = 3;

function outcomeOf(code: number): DeliveryOutcome {
  return code < 400 ? "delivered" : code < 500 ? "deferred" : "bounced";
}

export class ReverseSession {
  private readonly client: ReverseSmtpClient;
  private readonly feed: DeliveryFeed;
  private stopReason: string | null = null;
  /** the previous message's result being committed; awaited before the next final dot */
  private recording: Promise<void> = Promise.resolve();
  /** results queued and not yet committed */
  private unrecorded = 0;
  private capabilities: Capabilities | null = null;
  private readonly counts = { messagesDelivered: 0, recipientsDelivered: 0, bytesDelivered: 0 };

  constructor(private readonly options: ReverseSessionOptions) {
    const { config } = options.ctx;
    this.client = new ReverseSmtpClient(options.socket, {
      greetingMs: config.REVERSE_GREETING_TIMEOUT * 1000,
      commandMs: config.REVERSE_COMMAND_TIMEOUT * 1000,
      dataInitMs: config.REVERSE_DATA_INIT_TIMEOUT * 1000,
      dataBlockMs: config.REVERSE_DATA_BLOCK_TIMEOUT * 1000,
      finalDotMs: config.REVERSE_FINAL_DOT_TIMEOUT * 1000,
    });
    this.feed = new DeliveryFeed({
      owner: options.ctx.instanceId, customerId: options.login.customerId, domainIds: options.domainIds,
      batch: config.ODMR_CLAIM_BATCH, leaseSeconds: config.LEASE_SECONDS, sessionStart: options.sessionStart,
      authorize: options.authorize,
    }, (error) => options.log.warn({ code: isMailharborError(error) ? error.code : "INTERNAL", err: error }, "lease renewal failed"));
    // the first batch is claimed and read while the customer's MTA gets ready to greet
    this.feed.prefetch();
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
      if (greeting && greeting.code !== 220) {
        outcome = `the customer refused to take mail: ${greeting.text}`;
      } else {
        const hello = await this.client.hello(this.options.ctx.config.MAIL_HOSTNAME);
        if (hello.reply.code !== 250) {
          outcome = `the customer refused our EHLO/HELO: ${hello.reply.text}`;
        } else {
          // fetchmail 6.4 relays a TLS session line by line and then waits on the socket, so
          // lines it has already decrypted sit in its buffer unsent (seen: the RCPT after a
          // pipelined MAIL, and a final dot sent in one write with the data, never reached the
          // customer's MTA). In TLS, commands and the final dot therefore go one write each,
          // unless the peer is the MTA itself (an ETRN run).
          this.capabilities = { ...hello.capabilities, pipelining: hello.capabilities.pipelining && (!this.options.tls || this.options.directPeer === true) };
          outcome = await this.deliverAll(this.capabilities);
        }
      }
      await this.recording;
      await this.client.quit();
    } catch (error) {
      outcome = this.describeFailure(error);
      if (error instanceof ReverseClientError) log.info({ code: error.kind === "timeout" ? "ODMR_REVERSE_TIMEOUT" : "ODMR_CONNECTION_LOST" }, outcome);
      else log.error({ code: isMailharborError(error) ? error.code : "INTERNAL", err: error }, "reversed session failed");
      await this.recording.catch(() => undefined);
      await this.client.quit();
    }
    try {
      await this.feed.close();
    } catch (error) {
      log.error({ code: isMailharborError(error) ? error.code : "INTERNAL", err: error }, "could not give unsent deliveries back; their leases will expire");
    }
    outcome = `${outcome}; ${this.counts.messagesDelivered} messages delivered`;
    log.info({ ...this.counts, outcome }, "reversed session ended");
    return { ...this.counts, outcome };
  }

  private describeFailure(error: unknown): string {
    if (error instanceof ReverseClientError) {
      if (!this.capabilities && error.kind === "connection-lost") return `the customer closed the connection after 250 (${error.message})`;
      return error.kind === "timeout" ? error.message : `connection lost: ${error.message}`;
    }
    return `stopped: ${isMailharborError(error) ? error.code : "INTERNAL"} ${(error as Error)?.message ?? ""}`.trim();
  }

  /** Sends message after message until none is left, the session is stopped or the customer closes. */
  private async deliverAll(capabilities: Capabilities): Promise<string> {
    let current = await this.nextToSend(capabilities);
    while (current) {
      const { closing, next } = await this.deliver(current, capabilities);
      if (closing) return `the customer is closing (${closing})`;
      // a next message whose envelope already went out is finished even when stopping
      current = next ?? (await this.nextToSend(capabilities));
    }
    return this.stopReason ?? "completed";
  }

  /** The next message to offer (those refused locally are recorded on the way); null when done or stopping. */
  private async nextToSend(capabilities: Capabilities): Promise<Outgoing | null> {
    for (;;) {
      if (this.stopReason) return null;
      const item = await this.feed.next();
      if (!item) return null;
      const refusal = this.localRefusal(item, capabilities);
      if (!refusal) return { message: item.message, raw: item.raw!, envelope: null };
      this.queueRecord(item.message, item.raw, refusal);
    }
  }

  /** Results for a message we do not offer at all, or null to offer it. */
  private localRefusal({ message, raw }: FeedItem, capabilities: Capabilities): RecipientResult[] | null {
    const refuse = (outcome: DeliveryOutcome, error: string, localStatus?: string) =>
      message.deliveries.map((delivery) => ({ delivery, outcome, error, localStatus }));
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

  private sendEnvelope({ message, raw }: Outgoing, capabilities: Capabilities): Promise<EnvelopeReplies> {
    const params: string[] = [];
    if (capabilities.maxSize > 0) params.push(`SIZE=${raw.length}`);
    if (message.bodyType?.toUpperCase() === "8BITMIME" && capabilities.eightBitMime) params.push("BODY=8BITMIME");
    if (message.smtputf8) params.push("SMTPUTF8");
    const envelope = this.client.envelope(message.mailFrom, params, message.deliveries.map((d) => d.recipient), capabilities.pipelining);
    envelope.catch(() => undefined); // awaited by deliver(); a failure is seen there
    return envelope;
  }

  /**
   * One message, one transaction. With PIPELINING the next message's envelope goes out right
   * behind this one's final dot (RFC 2920 §3.1), so each message costs one round trip.
   */
  private async deliver(outgoing: Outgoing, capabilities: Capabilities): Promise<{ closing: string | null; next: Outgoing | null }> {
    const { message, raw } = outgoing;
    let closing: string | null = null;
    let next: Outgoing | null = null;
    const note = (reply: Reply | null) => {
      if (reply?.code === 421) closing ??= reply.text;
    };
    try {
      const envelope = await (outgoing.envelope ?? this.sendEnvelope(outgoing, capabilities));
      note(envelope.mail);
      envelope.rcpt.forEach(note);
      note(envelope.data);
      const results: RecipientResult[] = message.deliveries.map((delivery, i) => {
        const reply = envelope.mail.code >= 400 ? envelope.mail : envelope.rcpt[i]!;
        return { delivery, outcome: outcomeOf(reply.code), error: reply.code < 400 ? null : reply.text };
      });
      const accepted = results.filter((r) => r.outcome === "delivered");
      if (envelope.data?.code === 354 && accepted.length > 0) {
        // One in flight: the previous message's result is on record before this one's dot. A
        // large message (or one whose predecessor is still being recorded) goes out first, so
        // the two overlap; a small one leaves with its dot (and the next envelope) in one write
        // when the session pipelines (see run() for why it does not in TLS).
        const atOnce = capabilities.pipelining && raw.length < WRITE_CHUNK && this.unrecorded === 0;
        if (!atOnce) {
          await this.client.body(raw);
          await this.recording;
        }
        next = capabilities.pipelining ? await this.nextToSend(capabilities) : null;
        // the next message may have been refused locally, with a result of its own to record first
        if (this.unrecorded > 0) await this.recording;
        const final = this.client.corked(() => {
          if (atOnce) this.client.writeSmallBody(raw);
          const reply = this.client.finishData();
          if (next) next.envelope = this.sendEnvelope(next, capabilities);
          return reply;
        });
        const reply = await final;
        note(reply);
        for (const r of accepted) {
          r.outcome = outcomeOf(reply.code);
          r.error = reply.code < 400 ? null : reply.text;
        }
      } else {
        for (const r of accepted) {
          // the recipients were taken but DATA was not (or never sent: nobody was accepted)
          const reply = envelope.data;
          r.outcome = reply ? outcomeOf(reply.code >= 400 ? reply.code : 451) : "deferred";
          r.error = reply ? reply.text : "no recipient was accepted";
        }
        // RFC 2920 §3.1: a 354 without accepted recipients still needs its data ended
        if (envelope.data?.code === 354) note(await this.client.finishData());
        if (envelope.mail.code < 400 && !closing) note(await this.client.reset());
      }
      this.queueRecord(message, raw, results, capabilities.serverName);
    } catch (error) {
      if (error instanceof ReverseClientError) {
        // lost or timed out before the final reply: everything stays held, no DSN (a next
        // message whose envelope went out is still the feed's, which gives it back untouched)
        const ids = message.deliveries.map((d) => d.id);
        this.feed.settle(ids);
        await releaseDeliveries(this.options.ctx.instanceId, ids, { error: `${error.kind === "timeout" ? "" : "connection lost: "}${error.message}` })
          .catch((e) => this.options.log.error({ code: isMailharborError(e) ? e.code : "INTERNAL", err: e }, "could not give the message in flight back; its lease will expire"));
      }
      throw error;
    }
    return { closing, next: closing ? null : next };
  }

  /** Commits a message's results after the previous one's; a failure surfaces at the next await. */
  private queueRecord(message: ClaimedMessage, raw: Buffer | null, results: RecipientResult[], remoteMta?: string): void {
    this.unrecorded++;
    this.recording = this.recording.then(async () => {
      await this.record(message, raw, results, remoteMta);
      // only a success counts down: after a failure `recording` stays rejected and is awaited
      this.unrecorded--;
    });
  }

  private async record(message: ClaimedMessage, raw: Buffer | null, results: RecipientResult[], remoteMta?: string): Promise<void> {
    const { ctx, log } = this.options;
    const bounced = results.filter((r) => r.outcome === "bounced");
    let dsn = null;
    // RFC 5321 §6.1: no DSN to the null sender
    if (bounced.length > 0 && message.mailFrom) {
      const now = new Date();
      const recipients: DsnRecipient[] = bounced.map((r) => ({
        recipient: r.delivery.recipient, action: "failed",
        status: r.localStatus ?? statusFromReply(r.error ?? "550"),
        diagnostic: r.localStatus ? null : r.error, remoteMta: remoteMta || null, lastAttempt: now,
      }));
      dsn = {
        rcptTo: message.mailFrom, state: initialDsnState(ctx.config.SMARTHOST),
        raw: buildDsn({
          kind: "bounced", reportingMta: ctx.config.MAIL_HOSTNAME, recipients, now,
          original: { queueId: message.messageId, mailFrom: message.mailFrom, receivedAt: message.receivedAt, raw },
        }),
      };
    }
    const record = {
      owner: ctx.instanceId, messageId: message.messageId, exclusive: message.exclusive, dsn,
      results: results.map((r) => ({ deliveryId: r.delivery.id, outcome: r.outcome, error: r.error })),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const recorded = await recordDeliveryResults(record);
        if (recorded.updated < results.length) {
          log.warn({ code: "ODMR_LEASE_LOST", messageId: message.messageId }, "some deliveries were no longer ours when their result came");
        }
        break;
      } catch (error) {
        if (attempt >= RECORD_ATTEMPTS) throw error;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
    this.feed.settle(results.map((r) => r.delivery.id));
    const delivered = results.filter((r) => r.outcome === "delivered").length;
    if (delivered > 0) {
      this.counts.messagesDelivered++;
      this.counts.recipientsDelivered += delivered;
      this.counts.bytesDelivered += raw?.length ?? 0;
    }
    if (log.isLevelEnabled("debug")) {
      log.debug({ messageId: message.messageId, results: results.map((r) => ({ rcpt: r.delivery.recipient, outcome: r.outcome, error: r.error })) }, "message result");
    }
  }
}
