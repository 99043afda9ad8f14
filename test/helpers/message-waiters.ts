// What test receivers share for "wait until N messages have arrived": the receiver calls
// arrived() after each message, tests await waitFor(count).
export class MessageWaiters<T> {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly messages: T[]) {}

  /** Call after a message was added to the list. */
  arrived(): void {
    for (const waiter of this.waiters) waiter();
  }

  waitFor(count: number, timeoutMs = 20_000): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.messages.length < count) return;
        cleanup();
        resolve(this.messages);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`expected ${count} messages, got ${this.messages.length}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}
