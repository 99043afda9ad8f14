// One message as the portal shows it: envelope, header summary, the deliveries within the actor's
// reach (another customer's recipients of the same message stay hidden), and the raw header block.
// A message with no delivery within reach is NOT_FOUND, exactly like one that does not exist.
// An extended recipient (joe+news@ on a domain with a recipient delimiter) names the list entry it
// matches now, by the same rule the MX applied at RCPT.
import type { Actor } from "../actor.ts";
import { customerScope } from "../actor.ts";
import { expiryTime } from "./expiry-time.ts";
import { dbWork, getDb } from "../db/client.ts";
import { recipientBase, matchListEntry } from "../domains/recipient-delimiter.ts";
import { MailharborError } from "../errors.ts";
import { headerSection } from "../messages/header-fields.ts";
import { recipientKey } from "../validation/address.ts";

/** Header blocks longer than this are cut: the page shows headers, never a body. */
const HEADER_LIMIT = 64 * 1024;

/** The header block of a raw message as the page shows it: its header section without the last line end. */
export function headerBlock(raw: Buffer): { text: string; truncated: boolean } {
  const block = headerSection(raw).toString("utf8").replace(/\r\n$/, "");
  return block.length > HEADER_LIMIT ? { text: block.slice(0, HEADER_LIMIT), truncated: true } : { text: block, truncated: false };
}

type ListedDelivery = { recipient: string; domain: { id: string; recipientPolicy: string; recipientDelimiter: string } };

/** recipient → the list entry it matched through its extension (only for those that did). */
async function extendedListEntries(deliveries: ListedDelivery[]): Promise<Map<string, string>> {
  const extended = deliveries
    .filter((d) => d.domain.recipientPolicy === "listed")
    .map((d) => ({ d, key: recipientKey(d.recipient), base: recipientBase(recipientKey(d.recipient), d.domain.recipientDelimiter) }))
    .filter((e) => e.base !== null);
  if (!extended.length) return new Map();
  const rows = await dbWork(() =>
    getDb().recipient.findMany({
      where: { OR: extended.map((e) => ({ domainId: e.d.domain.id, address: { in: [e.key, e.base!] } })) },
      select: { domainId: true, address: true },
    }),
  );
  const result = new Map<string, string>();
  for (const { d, key } of extended) {
    const listed = new Set(rows.filter((r) => r.domainId === d.domain.id).map((r) => r.address));
    const entry = matchListEntry(key, d.domain.recipientDelimiter, listed);
    if (entry !== null && entry !== key) result.set(d.recipient, entry);
  }
  return result;
}

export async function getMessageDetail(actor: Actor, id: string) {
  const scope = customerScope(actor);
  const db = getDb();
  const message = await dbWork(() =>
    db.message.findFirst({
      where: { id: String(id), deliveries: { some: scope } },
      select: {
        id: true,
        mailFrom: true,
        size: true,
        receivedAt: true,
        clientAddress: true,
        heloName: true,
        fromHeader: true,
        subject: true,
        messageIdHdr: true,
        dateHeader: true,
        bodyType: true,
        smtputf8: true,
        deliveries: {
          where: scope,
          orderBy: { id: "asc" },
          select: {
            id: true,
            recipient: true,
            state: true,
            attempts: true,
            lastError: true,
            lastAttemptAt: true,
            deliveredAt: true,
            leaseOwner: true,
            leaseUntil: true,
            domain: { select: { id: true, name: true, retentionDays: true, recipientPolicy: true, recipientDelimiter: true } },
            customer: { select: { id: true, name: true } },
          },
        },
      },
    }),
  );
  if (!message) throw new MailharborError("NOT_FOUND", `no message ${id}`);
  // only the first bytes: enough for the headers, never a whole 25 MB body
  const head = await dbWork(
    () => db.$queryRaw<{ head: Uint8Array | null }[]>`
    SELECT substring(raw FROM 1 FOR ${HEADER_LIMIT + 4}) AS head FROM message_body WHERE message_id = ${message.id}`,
  );
  const headers = head[0]?.head ? headerBlock(Buffer.from(head[0].head)) : null;
  const listedAs = await extendedListEntries(message.deliveries);
  return {
    ...message,
    deliveries: message.deliveries.map((d) => ({ ...d, id: String(d.id), listedAs: listedAs.get(d.recipient) ?? null })),
    headers,
    expiresAt: expiryTime(
      message.receivedAt,
      message.deliveries.map((d) => ({ state: d.state, retentionDays: d.domain.retentionDays })),
    ),
  };
}

export type MessageDetail = Awaited<ReturnType<typeof getMessageDetail>>;
