// One message as the portal shows it: envelope, header summary, the deliveries within the actor's
// reach (another customer's recipients of the same message stay hidden), and the raw header block.
// A message with no delivery within reach is NOT_FOUND, exactly like one that does not exist.
import type { Actor } from "../actor.ts";
import { customerScope } from "../actor.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { HELD_STATES } from "./search-queue.ts";

/** Header blocks longer than this are cut: the page shows headers, never a body. */
const HEADER_LIMIT = 64 * 1024;

/** The header block of a raw message: everything before the first empty line. */
export function headerBlock(raw: Buffer): { text: string; truncated: boolean } {
  const text = raw.toString("utf8");
  const end = text.search(/\r?\n\r?\n/);
  const block = end >= 0 ? text.slice(0, end) : text;
  return block.length > HEADER_LIMIT ? { text: block.slice(0, HEADER_LIMIT), truncated: true } : { text: block, truncated: false };
}

export async function getMessageDetail(actor: Actor, id: string) {
  const scope = customerScope(actor);
  const db = getDb();
  const message = await dbWork(() => db.message.findFirst({
    where: { id: String(id), deliveries: { some: scope } },
    select: {
      id: true, mailFrom: true, size: true, receivedAt: true, clientAddress: true, heloName: true,
      fromHeader: true, subject: true, messageIdHdr: true, dateHeader: true, bodyType: true, smtputf8: true,
      deliveries: {
        where: scope,
        orderBy: { id: "asc" },
        select: {
          id: true, recipient: true, state: true, attempts: true, lastError: true, lastAttemptAt: true, deliveredAt: true,
          leaseOwner: true, leaseUntil: true,
          domain: { select: { id: true, name: true, retentionDays: true } },
          customer: { select: { id: true, name: true } },
        },
      },
    },
  }));
  if (!message) throw new MailharborError("NOT_FOUND", `no message ${id}`);
  // only the first bytes: enough for the headers, never a whole 25 MB body
  const head = await dbWork(() => db.$queryRaw<{ head: Uint8Array | null }[]>`
    SELECT substring(raw FROM 1 FOR ${HEADER_LIMIT + 4}) AS head FROM message_body WHERE message_id = ${message.id}`);
  const headers = head[0]?.head ? headerBlock(Buffer.from(head[0].head)) : null;
  const held = message.deliveries.filter((d) => (HELD_STATES as string[]).includes(d.state));
  const retention = held.length ? Math.min(...held.map((d) => d.domain.retentionDays)) : null;
  return {
    ...message,
    deliveries: message.deliveries.map((d) => ({ ...d, id: String(d.id) })),
    headers,
    expiresAt: retention === null ? null : new Date(message.receivedAt.getTime() + retention * 86_400_000),
  };
}

export type MessageDetail = Awaited<ReturnType<typeof getMessageDetail>>;
