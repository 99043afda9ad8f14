// RFC 2645 §4.2.3 allows 450 as a rate limit on repeated ATRN. A login may ask `perMinute`
// times in any sliding minute; refused requests do not count, so a customer polling every
// minute (or even a few times a minute) is never refused. Kept in memory, per mailer process.
const WINDOW_MS = 60_000;

export class AtrnRateLimiter {
  private readonly recent = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one ATRN by this login; false if the login has already had its share this minute. */
  allow(loginId: string): boolean {
    const now = this.now();
    const times = (this.recent.get(loginId) ?? []).filter((t) => now - t < WINDOW_MS);
    const allowed = times.length < this.perMinute;
    if (allowed) times.push(now);
    this.recent.set(loginId, times);
    if (this.recent.size > 10_000) this.prune(now);
    return allowed;
  }

  /** Gives back the latest use of `loginId` (a request that turned out not to be the login's to count). */
  refund(loginId: string): void {
    this.recent.get(loginId)?.pop();
  }

  private prune(now: number): void {
    for (const [login, times] of this.recent) {
      if (times.every((t) => now - t >= WINDOW_MS)) this.recent.delete(login);
    }
  }
}
