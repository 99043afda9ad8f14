// Collects the DATA of one message while it streams in, enforcing the size limit as it goes:
// past the limit (or past the memory the message may take, see memory-budget.ts) the bytes are
// counted and dropped, not kept, and the reply after the final dot refuses the message
// (RFC 1870 §6.3: 552 once the limit is passed). The chunks are kept as they came and joined once,
// behind the trace field, into the buffer that is stored: one copy of the message, not three.
import type { MessageReservation } from "./memory-budget.ts";
import { REPLIES, type Reply } from "./mx-replies.ts";

export type Collected = { raw: Buffer; body: Buffer } | { refusal: Reply };

export class MessageCollector {
  private chunks: Buffer[] = [];
  private received = 0;
  private kept = 0;
  private refusal: Reply | null = null;

  constructor(
    private readonly limit: number,
    private readonly reservation: MessageReservation,
  ) {}

  get size(): number {
    return this.received;
  }

  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.refusal) return;
    if (this.received > this.limit) this.refuse(REPLIES.messageTooBig);
    else if (!this.reservation.grow(chunk.length)) this.refuse(REPLIES.insufficientStorage);
    else {
      this.kept += chunk.length;
      this.chunks.push(chunk);
    }
  }

  /**
   * The message as stored (`prefix`, then the data) and the data alone (a view into the same
   * buffer), or the reply that refuses it. Call release() once the message is stored or refused.
   */
  finish(prefix: Buffer): Collected {
    if (this.refusal) return { refusal: this.refusal };
    const raw = Buffer.concat([prefix, ...this.chunks], prefix.length + this.kept);
    this.chunks = [];
    return { raw, body: raw.subarray(prefix.length) };
  }

  release(): void {
    this.chunks = [];
    this.reservation.release();
  }

  private refuse(reply: Reply): void {
    this.refusal = reply;
    this.release();
  }
}
