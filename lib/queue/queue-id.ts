import crypto from "node:crypto";
import { z } from "zod";

// Crockford base32: ids sort by arrival time and read unambiguously.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encode(value: number, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    out = ALPHABET[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

let lastTime = -1;
let lastTail = 0;

/**
 * A 16-character queue id: 10 characters of millisecond time, 6 of a counter that starts at a
 * random point each millisecond. Within one process ids strictly increase (a second id in the same
 * millisecond takes the next counter value), so "newest first" is "highest id first".
 */
export function newQueueId(now = Date.now()): string {
  const time = Math.max(now, lastTime);
  if (time === lastTime && lastTail < 2 ** 30 - 1) {
    lastTail += 1;
  } else {
    lastTime = time;
    lastTail = crypto.randomBytes(4).readUInt32BE() % 2 ** 29; // leaves room to count up
  }
  return encode(lastTime, 10) + encode(lastTail, 6);
}

/**
 * The smallest queue id issued at or after `ms`: since ids sort by time, "received before T" is
 * `id < queueIdAt(T)`, which the primary key answers without reading received_at.
 */
export function queueIdAt(ms: number): string {
  return encode(Math.max(0, Math.floor(ms)), 10) + "000000";
}

/**
 * What a queue id from outside (a URL, a form, an API filter) must look like before it reaches a
 * query: the ids above are 16 characters of this alphabet; up to 32 leaves room to lengthen them.
 */
const QUEUE_ID_PATTERN = /^[0-9A-Z]{1,32}$/;

export function isQueueId(value: string): boolean {
  return QUEUE_ID_PATTERN.test(value);
}

export const queueIdSchema = z.string().regex(QUEUE_ID_PATTERN, "not a queue id");
