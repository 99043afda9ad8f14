// Group commit: work submitted while a commit is in flight waits and goes into the next one, so
// concurrent sessions share one transaction (and one WAL flush) instead of paying for one each.
// Nothing waits on purpose: a lone submission is committed at once, and batches only grow when
// commits are already busy. Every submitter is answered only after its batch has committed.
import { isMailharborError } from "../errors.ts";

export interface GroupCommitOptions<T> {
  /** commits a batch in one transaction: all of it or nothing */
  commit(batch: T[]): Promise<void>;
  /** most items in one batch */
  maxItems: number;
  /** most bytes in one batch (one oversized item still forms a batch on its own) */
  maxBytes: number;
  sizeOf(item: T): number;
  /** batches committed at the same time */
  concurrency: number;
}

interface Waiting<T> {
  item: T;
  resolve(): void;
  reject(error: unknown): void;
}

export class GroupCommit<T> {
  private readonly waiting: Waiting<T>[] = [];
  private running = 0;

  constructor(private readonly options: GroupCommitOptions<T>) {}

  /** Resolves once the item is committed; rejects with the commit's error. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      const batch = this.takeBatch();
      this.running++;
      void this.commitBatch(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private takeBatch(): Waiting<T>[] {
    let bytes = 0;
    let count = 0;
    while (count < this.waiting.length && count < this.options.maxItems) {
      const size = this.options.sizeOf(this.waiting[count].item);
      if (count > 0 && bytes + size > this.options.maxBytes) break;
      bytes += size;
      count++;
    }
    return this.waiting.splice(0, count);
  }

  private async commitBatch(batch: Waiting<T>[]): Promise<void> {
    try {
      await this.options.commit(batch.map((w) => w.item));
      for (const w of batch) w.resolve();
    } catch (error) {
      if (batch.length === 1 || isMailharborError(error, "DB_UNAVAILABLE")) {
        for (const w of batch) w.reject(error);
        return;
      }
      // One bad item (say, a recipient whose domain was deleted a moment ago) must not fail the
      // others that happened to share its transaction: commit them one by one.
      await Promise.all(
        batch.map(async (w) => {
          try {
            await this.options.commit([w.item]);
            w.resolve();
          } catch (single) {
            w.reject(single);
          }
        }),
      );
    }
  }
}
