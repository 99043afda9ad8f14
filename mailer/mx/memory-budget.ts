// A count of the bytes held by messages in transit, shared by all MX sessions.
export class MemoryBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Takes `bytes` from the budget, or returns false (and takes nothing) when they do not fit. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
