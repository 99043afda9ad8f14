// Durable intake: the message, its bytes and one delivery row per recipient are committed in one
// transaction; only then may the MX answer 250 (design: queue semantics).
import { dbWork, getDb } from "../db/client.ts";
import { newQueueId } from "./queue-id.ts";

export interface ResolvedRecipient {
  address: string;
  domainId: string;
  customerId: string;
}

export interface IncomingMessage {
  mailFrom: string;
  recipients: ResolvedRecipient[];
  raw: Buffer;
  clientAddress?: string | null;
  heloName?: string | null;
  bodyType?: string | null;
  smtputf8?: boolean;
  summary?: { from?: string | null; subject?: string | null; messageId?: string | null; date?: string | null };
}

export async function storeMessage(message: IncomingMessage): Promise<string> {
  const id = newQueueId();
  await dbWork(() => getDb().$transaction([
    getDb().message.create({
      data: {
        id, mailFrom: message.mailFrom, size: message.raw.length, clientAddress: message.clientAddress ?? null,
        heloName: message.heloName ?? null, bodyType: message.bodyType ?? null, smtputf8: message.smtputf8 ?? false,
        fromHeader: message.summary?.from ?? null, subject: message.summary?.subject ?? null,
        messageIdHdr: message.summary?.messageId ?? null, dateHeader: message.summary?.date ?? null,
      },
    }),
    getDb().messageBody.create({ data: { messageId: id, raw: message.raw } }),
    getDb().delivery.createMany({
      data: message.recipients.map((r) => ({ messageId: id, domainId: r.domainId, customerId: r.customerId, recipient: r.address })),
    }),
  ]));
  return id;
}
