// Throttles failed authentication per key (a client address, a login name, a portal account):
// after `freeFailures` failures each further attempt waits longer, and after `lockAfter` the key
// is locked for `lockMs`. Kept in memory, per process.
//
// An attempt is counted when it starts (reserve), before its secret is checked, so a burst of
// parallel attempts cannot all pass the lock check before the first failure is on record: at most
// `lockAfter` attempts of one key are ever verified before it locks.
import net from "node:net";

export interface ThrottleOptions {
  freeFailures: number;
  lockAfter: number;
  lockMs: number;
  /** failures older than this are forgotten */
  windowMs: number;
  /** delay added per failure past the free ones, capped at maxDelayMs */
  stepDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  freeFailures: 3,
  lockAfter: 10,
  lockMs: 15 * 60_000,
  windowMs: 15 * 60_000,
  stepDelayMs: 1000,
  maxDelayMs: 8000,
};

interface Entry {
  failures: number;
  pending: number;
  first: number;
  lockedUntil: number;
}

export class AttemptThrottle {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly options: ThrottleOptions = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
    /** how a caller's key is counted (client addresses: per IPv6 /64, see clientKey) */
    private readonly keyOf: (key: string) => string = (key) => key,
  ) {}

  private entry(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.pending === 0 && this.now() - entry.first > this.options.windowMs && entry.lockedUntil < this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private entryFor(key: string): Entry {
    let entry = this.entry(key);
    if (!entry) {
      entry = { failures: 0, pending: 0, first: this.now(), lockedUntil: 0 };
      this.entries.set(key, entry);
      if (this.entries.size > 100_000) this.prune();
    }
    return entry;
  }

  /** Milliseconds until the key may try again (0: now). */
  lockedFor(key: string): number {
    const entry = this.entry(this.keyOf(key));
    return entry ? Math.max(0, entry.lockedUntil - this.now()) : 0;
  }

  /**
   * How long to wait before answering an attempt for this key, from the failures on record.
   * Attempts still being checked do not count: a customer's servers logging in together from one
   * address are not failures, and a delay would not slow guesses made in parallel anyway (they
   * wait side by side); reserve() bounds those.
   */
  delayFor(key: string): number {
    const entry = this.entry(this.keyOf(key));
    const count = entry ? entry.failures : 0;
    if (count < this.options.freeFailures) return 0;
    return Math.min(this.options.maxDelayMs, (count - this.options.freeFailures + 1) * this.options.stepDelayMs);
  }

  /**
   * Counts an attempt that is about to be checked; false (nothing counted) when the key is locked
   * or the attempts already on record or under way reach `lockAfter`. Every true must be followed
   * by exactly one settle().
   */
  reserve(key: string): boolean {
    if (this.lockedFor(key) > 0) return false;
    const entry = this.entryFor(this.keyOf(key));
    if (entry.failures + entry.pending >= this.options.lockAfter) return false;
    entry.pending += 1;
    return true;
  }

  /** Ends a reserved attempt: a failure is recorded; a success or an unchecked attempt is not. */
  settle(key: string, failed: boolean): void {
    const entry = this.entries.get(this.keyOf(key));
    if (entry) entry.pending = Math.max(0, entry.pending - 1);
    if (failed) this.fail(key);
  }

  fail(key: string): void {
    const now = this.now();
    const entry = this.entryFor(this.keyOf(key));
    entry.failures += 1;
    if (entry.failures >= this.options.lockAfter) entry.lockedUntil = now + this.options.lockMs;
  }

  /** Forgets the key's failures (attempts under way stay counted). */
  succeed(key: string): void {
    const entry = this.entries.get(this.keyOf(key));
    if (!entry) return;
    if (entry.pending > 0) Object.assign(entry, { failures: 0, lockedUntil: 0 });
    else this.entries.delete(this.keyOf(key));
  }

  private prune(): void {
    for (const key of [...this.entries.keys()]) this.entry(key);
  }
}

/**
 * The key a client address is counted under: an IPv4 address as it is (an IPv4-mapped IPv6
 * address as its IPv4 form), an IPv6 address by its /64, the smallest prefix a site is normally
 * given (RFC 6177), so one client cannot step through the addresses of its own network.
 */
export function clientKey(address: string): string {
  const trimmed = address.trim().toLowerCase().replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(trimmed);
  if (mapped) return mapped[1];
  if (net.isIPv4(trimmed) || !net.isIPv6(trimmed)) return trimmed;
  const [head, tail] = trimmed.split("::") as [string, string | undefined];
  const groups = (part: string | undefined) =>
    part
      ? part.split(":").flatMap((g) =>
          // an embedded IPv4 tail (e.g. 64:ff9b::192.0.2.1) is two groups
          g.includes(".")
            ? (() => {
                const b = g.split(".").map(Number);
                return [((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16)];
              })()
            : [g],
        )
      : [];
  const first = groups(head);
  const last = groups(tail);
  const all = tail === undefined ? first : [...first, ...Array(8 - first.length - last.length).fill("0"), ...last];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

export interface AuthThrottleSettings {
  AUTH_DELAY_STEP_MS: number;
  AUTH_LOCK_AFTER: number;
  AUTH_LOCK_MINUTES: number;
}

/** One authentication attempt, counted from its start; settle it exactly once. */
export interface AuthAttempt {
  /** how long to wait before answering, whatever the answer will be (so its length tells nothing) */
  delayMs: number;
  settle(outcome: "success" | "failure" | "unchecked"): void;
}

/**
 * The throttle of an authentication surface: a client address slows down and then locks; an
 * account only slows down, so that nobody can lock another person out of their own account, and
 * the right secret from elsewhere still works. A success clears only the account's counter,
 * never the address's: an address that sprays guesses at one account cannot wash its record
 * with a good login to another.
 */
export class AuthThrottle {
  readonly byAddress: AttemptThrottle;
  readonly byAccount: AttemptThrottle;

  constructor(settings: AuthThrottleSettings, now: () => number = Date.now) {
    const base = { ...DEFAULT_THROTTLE, stepDelayMs: settings.AUTH_DELAY_STEP_MS };
    this.byAddress = new AttemptThrottle({ ...base, lockAfter: settings.AUTH_LOCK_AFTER, lockMs: settings.AUTH_LOCK_MINUTES * 60_000 }, now, clientKey);
    this.byAccount = new AttemptThrottle({ ...base, lockAfter: Number.POSITIVE_INFINITY, lockMs: 0 }, now);
  }

  /** Counts an attempt before it is checked; null when the address is locked (answer 454). */
  begin(address: string, account: string): AuthAttempt | null {
    const delayMs = Math.max(this.byAddress.delayFor(address), this.byAccount.delayFor(account));
    if (!this.byAddress.reserve(address)) return null;
    this.byAccount.reserve(account);
    let settled = false;
    return {
      delayMs,
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        this.byAddress.settle(address, outcome === "failure");
        this.byAccount.settle(account, outcome === "failure");
        if (outcome === "success") this.byAccount.succeed(account);
      },
    };
  }
}

let processThrottle: AuthThrottle | null = null;

/** The one throttle of SMTP AUTH in this process, shared by the ODMR listeners and the MX (for ETRN). */
export function smtpAuthThrottle(settings: AuthThrottleSettings): AuthThrottle {
  processThrottle ??= new AuthThrottle(settings);
  return processThrottle;
}
