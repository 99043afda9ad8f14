import crypto from "node:crypto";

// Crockford base32: ids sort by arrival time and read unambiguously.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A 16-character queue id: 10 characters of millisecond time, 6 random. */
export function newQueueId(now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.randomBytes(6);
  let tail = "";
  for (const byte of random) tail += ALPHABET[byte % 32];
  return time + tail;
}

/**
 * The smallest queue id issued at or after `ms`: since ids sort by time, "received before T" is
 * `id < queueIdAt(T)`, which the primary key answers without reading received_at.
 */
export function queueIdAt(ms: number): string {
  return newQueueId(Math.max(0, Math.floor(ms))).slice(0, 10) + "000000";
}
