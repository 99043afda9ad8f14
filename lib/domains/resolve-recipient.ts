// The RCPT decision: may mail for this address be accepted and held, and for which domain and
// customer? Only hosted domains are accepted, so the MX can never relay (design: security model);
// who the client is (even an authenticated one) plays no part in it.
//
// One indexed query answers it, through the queue's pg pool (the intake hot path, like the store);
// for a domain with a recipient delimiter the same query also asks for the address without its
// extension (joe+news → joe, the rule in recipient-delimiter.ts).
// Answers are reused (for at most MX_LOOKUP_CACHE_SECONDS) only until the database announces a
// change to what they rest on (the triggers of migration recipient_lookup_changes notify the
// channel RECIPIENT_LOOKUP_CHANNEL, heard by a ChangeListener): a suspension, a paused domain or a
// new recipient counts from the moment it commits. While the listener is not connected every RCPT
// asks the database, as it does with the cache set to 0.
import { lookupCandidates, matchListEntry } from "./recipient-delimiter.ts";
import type { ChangeListener } from "../db/change-listener.ts";
import { queueQuery } from "../db/pg-pool.ts";
import type { ResolvedRecipient } from "../queue/store-message.ts";
import type { ParsedAddress } from "../validation/address.ts";
import { recipientKey } from "../validation/address.ts";

export type RecipientDecision =
  | { outcome: "accept"; recipient: ResolvedRecipient; maxMessageSize: number }
  /** not a hosted domain: relaying is refused */
  | { outcome: "not-hosted" }
  /** hosted, but the domain lists its recipients and this is not one of them */
  | { outcome: "unknown-user" }
  /** hosted, but inbound mail is paused (the domain) or suspended (its customer): the sender should try again later */
  | { outcome: "deferred" };

interface DomainRow {
  id: string;
  customerId: string;
  listed: boolean;
  recipientDelimiter: string;
  maxMessageSize: number;
  acceptInbound: boolean;
  customerActive: boolean;
}

interface LookupRow {
  id: string;
  customer_id: string;
  recipient_policy: string;
  recipient_delimiter: string;
  max_message_size: number;
  accept_inbound: boolean;
  customer_status: string;
  /** the candidate keys that are listed (empty unless the domain lists its recipients) */
  listed: string[];
}

/** The channel the database announces changes to domains, customers' status and recipients on. */
export const RECIPIENT_LOOKUP_CHANNEL = "recipient_lookup";

/** What the cache needs of a ChangeListener. */
export type ChangeSignal = Pick<ChangeListener, "generation" | "live">;

/**
 * A map whose entries hold while the database has announced no change (the generation they were
 * read in is the current one), and at most ttlMs; its size is bounded (the oldest entry goes first).
 */
class ChangeBoundCache<V> {
  private readonly entries = new Map<string, { value: V; until: number; generation: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly changes: ChangeSignal,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= Date.now() || entry.generation !== this.changes.generation || !this.changes.live) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Keeps a value read while the generation was `readIn`, unless a change has been heard since. */
  set(key: string, value: V, readIn: number): void {
    if (this.ttlMs <= 0 || readIn !== this.changes.generation || !this.changes.live) return;
    this.entries.delete(key);
    this.entries.set(key, { value, until: Date.now() + this.ttlMs, generation: readIn });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

export interface RecipientResolver {
  /** Throws MailharborError (DB_UNAVAILABLE, …) when the database cannot answer: never a guess. */
  resolve(address: ParsedAddress): Promise<RecipientDecision>;
}

export function createRecipientResolver(options: { cacheMs: number; changes: ChangeSignal; maxEntries?: number }): RecipientResolver {
  const maxEntries = options.maxEntries ?? 10_000;
  const { changes } = options;
  /** domain name → its row, or null when the domain is not hosted */
  const domains = new ChangeBoundCache<DomainRow | null>(options.cacheMs, maxEntries, changes);
  /** recipient key → which of its lookup candidates are listed, for domains with a recipient list */
  const listed = new ChangeBoundCache<ReadonlySet<string>>(options.cacheMs, maxEntries, changes);

  // The key and its possible bases (joe+news → joe) go in one array, so the domain's delimiter,
  // read by this same query, never costs a second round trip; each is a probe of recipient's
  // unique (domain_id, address) index.
  async function lookup(domainName: string, key: string): Promise<{ domain: DomainRow | null; listed: ReadonlySet<string> }> {
    const rows = await queueQuery<LookupRow>(
      `
      SELECT d.id, d.customer_id, d.recipient_policy::text AS recipient_policy, d.recipient_delimiter,
             d.max_message_size, d.accept_inbound, c.status::text AS customer_status,
             CASE WHEN d.recipient_policy = 'listed' THEN ARRAY(
               SELECT r.address FROM recipient r WHERE r.domain_id = d.id AND r.address = ANY($2::text[]))
             ELSE '{}'::text[] END AS listed
      FROM domain d JOIN customer c ON c.id = d.customer_id
      WHERE d.name = $1`,
      [domainName, lookupCandidates(key)],
      "resolve-recipient",
    );
    const row = rows[0];
    if (!row) return { domain: null, listed: new Set() };
    return {
      domain: {
        id: row.id,
        customerId: row.customer_id,
        listed: row.recipient_policy === "listed",
        recipientDelimiter: row.recipient_delimiter,
        maxMessageSize: row.max_message_size,
        acceptInbound: row.accept_inbound,
        customerActive: row.customer_status === "active",
      },
      listed: new Set(row.listed),
    };
  }

  return {
    async resolve(address) {
      const key = recipientKey(address.address);
      let domain = domains.get(address.domain);
      let found = domain?.listed ? listed.get(key) : undefined;
      if (domain === undefined || (domain?.listed && found === undefined)) {
        const readIn = changes.generation;
        const result = await lookup(address.domain, key);
        domain = result.domain;
        found = result.listed;
        domains.set(address.domain, domain, readIn);
        if (domain?.listed) listed.set(key, found, readIn);
      }
      if (!domain) return { outcome: "not-hosted" };
      // A paused domain or suspended customer comes back: 450 lets the sender's queue keep the
      // mail (RFC 5321 §4.2.5), where a 5yz would bounce it.
      if (!domain.customerActive || !domain.acceptInbound) return { outcome: "deferred" };
      // The address is accepted (and kept) as sent; only the list lookup may drop its extension.
      const isListed = domain.listed && matchListEntry(key, domain.recipientDelimiter, found ?? new Set()) !== null;
      // RFC 5321 §4.5.1: every domain takes mail for its postmaster, listed or not
      if (domain.listed && !isListed && address.localPart.toLowerCase() !== "postmaster") return { outcome: "unknown-user" };
      return {
        outcome: "accept",
        recipient: { address: address.address, domainId: domain.id, customerId: domain.customerId },
        maxMessageSize: domain.maxMessageSize,
      };
    },
  };
}

/** The largest message any hosted domain accepts: what the MX advertises with SIZE (RFC 1870). */
export async function largestMessageSize(): Promise<number | null> {
  const rows = await queueQuery<{ max: number | null }>("SELECT max(max_message_size) AS max FROM domain");
  return rows[0]?.max ?? null;
}
