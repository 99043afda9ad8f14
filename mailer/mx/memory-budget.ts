// The memory held by messages in transit (from DATA until they are committed), shared by all MX
// sessions, with a share per client address so that one address cannot take it all: eleven
// connections from one address holding unfinished DATA used to leave every other sender with 452.
// What is counted is the memory a message really takes: each byte twice, once in the message the
// collector assembles (its chunks are concatenated once, behind the Received field) and once in
// the PostgreSQL driver's bind message that carries it to the database.
import { clientKey } from "../../lib/auth/attempt-throttle.ts";

/** Copies of a message's bytes the MX holds at once (see above). */
export const COPIES_PER_MESSAGE = 2;

export class MemoryBudget {
  private used = 0;
  private readonly byAddress = new Map<string, number>();

  /** `limit` bytes in all; `perAddress` bytes for the messages of one client address (IPv6: its /64) together. */
  constructor(
    private readonly limit: number,
    private readonly perAddress: number,
  ) {}

  /** The reservation one message from `address` grows while it streams in. */
  open(address: string): MessageReservation {
    return new MessageReservation(this, clientKey(address));
  }

  /** Takes `bytes` for a message that holds `own` bytes already, or returns false (and takes nothing). */
  take(key: string, bytes: number, own: number): boolean {
    if (this.used + bytes > this.limit) return false;
    const fromAddress = this.byAddress.get(key) ?? 0;
    // A message alone may grow to its own size limit (MESSAGE_SIZE_CAP keeps that well inside the
    // budget); beside other messages of the same address, only within the address's share.
    if (fromAddress + bytes > this.perAddress && fromAddress > own) return false;
    this.used += bytes;
    this.byAddress.set(key, fromAddress + bytes);
    return true;
  }

  give(key: string, bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    const left = (this.byAddress.get(key) ?? 0) - bytes;
    if (left > 0) this.byAddress.set(key, left);
    else this.byAddress.delete(key);
  }
}

export class MessageReservation {
  private held = 0;

  constructor(
    private readonly budget: MemoryBudget,
    private readonly key: string,
  ) {}

  /** Reserves room for `bytes` more of the message (all its copies), or returns false. */
  grow(bytes: number): boolean {
    const counted = bytes * COPIES_PER_MESSAGE;
    if (!this.budget.take(this.key, counted, this.held)) return false;
    this.held += counted;
    return true;
  }

  release(): void {
    this.budget.give(this.key, this.held);
    this.held = 0;
  }
}
