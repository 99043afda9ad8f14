// Collects the DATA of one message while it streams in, enforcing the size limit as it goes:
// past the limit (or past the shared memory budget) the bytes are counted and dropped, not kept,
// and the reply after the final dot refuses the message (RFC 1870 §6.3: 552 once the limit is passed).
import type { MemoryBudget } from "./memory-budget.ts";
import { REPLIES, type Reply } from "./mx-replies.ts";

export type Collected = { body: Buffer } | { refusal: Reply };

export class MessageCollector {
  private chunks: Buffer[] = [];
  private received = 0;
  private reserved = 0;
  private refusal: Reply | null = null;

  constructor(private readonly limit: number, private readonly budget: MemoryBudget) {}

  get size(): number {
    return this.received;
  }

  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.refusal) return;
    if (this.received > this.limit) this.refuse(REPLIES.messageTooBig);
    else if (!this.budget.reserve(chunk.length)) this.refuse(REPLIES.insufficientStorage);
    else {
      this.reserved += chunk.length;
      this.chunks.push(chunk);
    }
  }

  /** The whole message, or the reply that refuses it. Call release() once the message is stored or refused. */
  finish(): Collected {
    if (this.refusal) return { refusal: this.refusal };
    const body = Buffer.concat(this.chunks, this.reserved);
    this.chunks = [];
    return { body };
  }

  release(): void {
    this.chunks = [];
    this.budget.release(this.reserved);
    this.reserved = 0;
  }

  private refuse(reply: Reply): void {
    this.refusal = reply;
    this.release();
  }
}
