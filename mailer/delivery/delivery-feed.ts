// Feeds an ATRN session its messages: claims deliveries in batches, reads their bytes in groups
// of bounded size, and has the next group being read while the current one is sent.
// A claim covers about CLAIM_AHEAD_MS of this session's own sending rate (at most `batch`), so
// that several sessions collecting one domain share its mail instead of the first one taking a
// whole batch that it needs minutes to send over a slow link: the size starts small and doubles
// until the rate is known, as TCP's slow start does. The next claim is made only when what is left
// to send would take less than CLAIM_LEAD_MS at the rate so far: a session then holds little more
// than one claim, and sessions that share a domain finish close together.
// It keeps track of every delivery it holds a lease on, renews those leases while the session
// runs, and gives back whatever was not offered when the session ends. Before every claim it asks
// `authorize` whether the session may still collect; when not, it claims nothing more.
import { claimDeliveries, loadMessageBodies, releaseDeliveries, renewLeases, type ClaimedMessage } from "../../lib/queue/claim-deliveries.ts";

/** Bytes read ahead per group (a larger single message is read alone). */
const GROUP_BYTES = 8 * 1024 * 1024;
/** a claim holds about this much of the session's sending time */
const CLAIM_AHEAD_MS = 500;
/** the next claim is made when what is left would take this long to send (claiming takes milliseconds) */
const CLAIM_LEAD_MS = 250;
/** the first claim, and the least one */
const FIRST_CLAIM = 10;
/** the sending rate is trusted once measured over this long */
const RATE_WINDOW_MS = 200;

export interface FeedItem {
  message: ClaimedMessage;
  /** null when the message's bytes are missing (it cannot be sent) */
  raw: Buffer | null;
}

export interface FeedOptions {
  owner: string;
  customerId: string;
  domainIds: string[];
  /** the most deliveries one claim takes */
  batch: number;
  leaseSeconds: number;
  sessionStart: Date;
  /** asked before every claim batch: false ends the feed (the caller records why) */
  authorize?: () => Promise<boolean>;
}

export class DeliveryFeed {
  private claimed: ClaimedMessage[] = [];
  private ready: FeedItem[] = [];
  private nextGroup: Promise<FeedItem[]> | null = null;
  private exhausted = false;
  private stopped = false;
  /** delivery ids under our lease that have no recorded result yet */
  readonly held = new Set<string>();
  private renewTimer: NodeJS.Timeout;
  private lastClaim = 0;
  /** when the first message was handed out, and how many deliveries and messages have been since */
  private sendingSince: number | null = null;
  private handedOut = 0;
  private messagesOut = 0;

  constructor(
    private readonly options: FeedOptions,
    onRenewError: (error: unknown) => void,
  ) {
    // renewed at a third of the lease, so two renewals may fail before a lease runs out
    this.renewTimer = setInterval(
      () => {
        renewLeases(options.owner, [...this.held], options.leaseSeconds).catch(onRenewError);
      },
      (options.leaseSeconds * 1000) / 3,
    );
    this.renewTimer.unref();
  }

  /** Starts reading the first group (called as soon as ATRN is accepted, before the customer's 220). */
  prefetch(): void {
    this.nextGroup ??= this.loadGroup();
  }

  /** The next message to send, or null when nothing more is held (or the feed was stopped). */
  async next(): Promise<FeedItem | null> {
    if (this.ready.length === 0) {
      if (this.stopped) return null;
      this.prefetch();
      const group = this.nextGroup!;
      this.nextGroup = null;
      this.ready = await group;
      if (this.ready.length === 0) return null;
    }
    if (!this.stopped && (this.claimed.length > 0 || (!this.exhausted && this.claimDue()))) this.prefetch();
    const item = this.ready.shift()!;
    this.sendingSince ??= Date.now();
    this.handedOut += item.message.deliveries.length;
    this.messagesOut += 1;
    return item;
  }

  /** The results of these deliveries are recorded: they are no longer ours to renew or release. */
  settle(deliveryIds: string[]): void {
    for (const id of deliveryIds) this.held.delete(id);
  }

  /** No more claims; what is claimed and unsent is given back by close(). */
  stop(): void {
    this.stopped = true;
  }

  /** Waits for a read in flight, then gives every unsettled delivery back to the queue untouched. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.renewTimer);
    await this.nextGroup?.catch(() => undefined);
    this.nextGroup = null;
    const ids = [...this.held];
    this.held.clear();
    this.ready = [];
    this.claimed = [];
    await releaseDeliveries(this.options.owner, ids);
  }

  /** Whether to claim now: when the messages left would be sent within CLAIM_LEAD_MS at the rate so far (at once before the first is sent). */
  private claimDue(): boolean {
    return this.ready.length * this.sendingMs() <= this.messagesOut * CLAIM_LEAD_MS;
  }

  /** How long this session has been sending (0 before its first message). */
  private sendingMs(): number {
    return this.sendingSince === null ? 0 : Date.now() - this.sendingSince;
  }

  /** Doubles until the session's rate is measured, then covers CLAIM_AHEAD_MS of it; never above `batch`. */
  private claimSize(): number {
    const elapsed = this.sendingMs();
    const size =
      elapsed < RATE_WINDOW_MS
        ? this.lastClaim === 0
          ? FIRST_CLAIM
          : this.lastClaim * 2
        : Math.max(FIRST_CLAIM, Math.ceil((this.handedOut / elapsed) * CLAIM_AHEAD_MS));
    this.lastClaim = Math.min(this.options.batch, size);
    return this.lastClaim;
  }

  private async loadGroup(): Promise<FeedItem[]> {
    if (this.claimed.length === 0 && !this.exhausted && !this.stopped && this.options.authorize && !(await this.options.authorize())) {
      this.stopped = true;
    }
    if (this.claimed.length === 0 && !this.exhausted && !this.stopped) {
      const claimed = await claimDeliveries({
        owner: this.options.owner,
        customerId: this.options.customerId,
        domainIds: this.options.domainIds,
        limit: this.claimSize(),
        leaseSeconds: this.options.leaseSeconds,
        attemptedBefore: this.options.sessionStart,
      });
      for (const message of claimed) for (const delivery of message.deliveries) this.held.add(delivery.id);
      if (claimed.length === 0) this.exhausted = true;
      this.claimed.push(...claimed);
    }
    const group: ClaimedMessage[] = [];
    let bytes = 0;
    while (this.claimed.length > 0 && (group.length === 0 || bytes + this.claimed[0].size <= GROUP_BYTES)) {
      const message = this.claimed.shift()!;
      bytes += message.size;
      group.push(message);
    }
    const bodies = await loadMessageBodies(group.map((m) => m.messageId));
    return group.map((message) => ({ message, raw: bodies.get(message.messageId) ?? null }));
  }
}
