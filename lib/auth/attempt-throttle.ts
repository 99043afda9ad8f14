// Throttles failed authentication per key (a client address, a login name, a portal account):
// after `freeFailures` failures each further attempt waits longer, and after `lockAfter` the key
// is locked for `lockMs`. A success clears the key. Kept in memory, per process.

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
  freeFailures: 3, lockAfter: 10, lockMs: 15 * 60_000, windowMs: 15 * 60_000, stepDelayMs: 1000, maxDelayMs: 8000,
};

interface Entry { failures: number; first: number; lockedUntil: number }

export class AttemptThrottle {
  private entries = new Map<string, Entry>();

  constructor(private readonly options: ThrottleOptions = DEFAULT_THROTTLE, private readonly now: () => number = Date.now) {}

  private entry(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.first > this.options.windowMs && entry.lockedUntil < this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Milliseconds until the key may try again (0: now); Infinity-like large values mean locked. */
  lockedFor(key: string): number {
    const entry = this.entry(key);
    return entry ? Math.max(0, entry.lockedUntil - this.now()) : 0;
  }

  /** How long to wait before answering an attempt for this key. */
  delayFor(key: string): number {
    const entry = this.entry(key);
    if (!entry || entry.failures < this.options.freeFailures) return 0;
    return Math.min(this.options.maxDelayMs, (entry.failures - this.options.freeFailures + 1) * this.options.stepDelayMs);
  }

  fail(key: string): void {
    const now = this.now();
    const entry = this.entry(key) ?? { failures: 0, first: now, lockedUntil: 0 };
    entry.failures += 1;
    if (entry.failures >= this.options.lockAfter) entry.lockedUntil = now + this.options.lockMs;
    this.entries.set(key, entry);
    if (this.entries.size > 100_000) this.prune();
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  private prune(): void {
    for (const key of [...this.entries.keys()]) this.entry(key);
  }
}

export interface AuthThrottleSettings {
  AUTH_DELAY_STEP_MS: number;
  AUTH_LOCK_AFTER: number;
  AUTH_LOCK_MINUTES: number;
}

/**
 * The throttles of one authentication surface (ODMR and MX AUTH, portal logins): a client address
 * slows down and then locks; an account only slows down, so that nobody can lock another person
 * out of their own account, and the right secret from elsewhere still works.
 */
export function authThrottles(settings: AuthThrottleSettings): { byAddress: AttemptThrottle; byAccount: AttemptThrottle } {
  const base = { ...DEFAULT_THROTTLE, stepDelayMs: settings.AUTH_DELAY_STEP_MS };
  return {
    byAddress: new AttemptThrottle({ ...base, lockAfter: settings.AUTH_LOCK_AFTER, lockMs: settings.AUTH_LOCK_MINUTES * 60_000 }),
    byAccount: new AttemptThrottle({ ...base, lockAfter: Number.POSITIVE_INFINITY, lockMs: 0 }),
  };
}
