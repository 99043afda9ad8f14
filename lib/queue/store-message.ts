// Durable intake: the message, its bytes and one delivery row per recipient are committed in one
// statement (so one transaction); only then may the MX answer 250 (design: queue semantics).
// Messages arriving together share a commit (group commit), which is what lets the MX keep up
// with many sessions while PostgreSQL still flushes every commit to disk.
import { MailharborError } from "../errors.ts";
import { GroupCommit } from "./group-commit.ts";
import { newQueueId } from "./queue-id.ts";
import { queueQuery } from "../db/pg-pool.ts";
import type { HeaderSummary } from "../messages/summarize-headers.ts";
import { commitSeconds } from "../metrics/metrics.ts";

export interface ResolvedRecipient {
  address: string;
  domainId: string;
  customerId: string;
}

export interface IncomingMessage {
  /** the queue id, when the caller needed it before storing (e.g. for its Received header) */
  id?: string;
  mailFrom: string;
  recipients: ResolvedRecipient[];
  raw: Buffer;
  clientAddress?: string | null;
  heloName?: string | null;
  bodyType?: string | null;
  smtputf8?: boolean;
  summary?: Partial<HeaderSummary>;
}

type Row = IncomingMessage & { id: string; receivedAt: Date };

// unnest() turns parallel arrays back into rows; the data-modifying CTEs run in the same statement
// (one transaction), and the foreign keys are checked at its end, when the messages exist. Times
// are written as UTC wall-clock time, as Prisma writes them into these timestamp columns.
const INSERT_MESSAGES = `
  WITH m AS (
    INSERT INTO message (id, mail_from, size, received_at, client_address, helo_name, from_header, subject,
                         message_id_hdr, date_header, body_type, smtputf8)
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamp[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::text[], $11::text[], $12::boolean[])
  ), d AS (
    INSERT INTO delivery (message_id, domain_id, customer_id, recipient, created_at)
    SELECT * FROM unnest($13::text[], $14::uuid[], $15::uuid[], $16::text[], $17::timestamp[])
  )
  INSERT INTO message_body (message_id, raw) VALUES `;

const utcWallClock = (date: Date) => date.toISOString().replace("T", " ").replace("Z", "");

/**
 * Inserts a batch of messages with their bodies and deliveries in one statement. It goes through
 * the queue's pg pool rather than Prisma so that each message's bytes travel as one binary
 * parameter: Prisma's raw queries re-encode Buffers, which made 100 KB messages about five times
 * slower and the mailer's memory twice as large.
 */
async function insertMessages(rows: Row[]): Promise<void> {
  const deliveries = rows.flatMap((row) => row.recipients.map((r) => ({ ...r, messageId: row.id, at: utcWallClock(row.receivedAt) })));
  const column = <V>(pick: (row: Row) => V | null | undefined) => rows.map((row) => pick(row) ?? null);
  const params: unknown[] = [
    column((r) => r.id),
    column((r) => r.mailFrom),
    column((r) => r.raw.length),
    column((r) => utcWallClock(r.receivedAt)),
    column((r) => r.clientAddress),
    column((r) => r.heloName),
    column((r) => r.summary?.from),
    column((r) => r.summary?.subject),
    column((r) => r.summary?.messageId),
    column((r) => r.summary?.date),
    column((r) => r.bodyType),
    column((r) => r.smtputf8 ?? false),
    deliveries.map((d) => d.messageId),
    deliveries.map((d) => d.domainId),
    deliveries.map((d) => d.customerId),
    deliveries.map((d) => d.address),
    deliveries.map((d) => d.at),
  ];
  const values = rows.map((row) => {
    params.push(row.id, row.raw);
    return `($${params.length - 1}, $${params.length})`;
  });
  // named by the batch size (the only thing its text depends on): each pool connection parses and
  // plans each size once, which with one message per connection (batches of one to a few) is a
  // share of PostgreSQL's work per message
  await queueQuery(INSERT_MESSAGES + values.join(", "), params, `mh_store_${rows.length}`);
}

let committer: GroupCommit<Row> | undefined;

function getCommitter(): GroupCommit<Row> {
  committer ??= new GroupCommit<Row>({
    commit: async (batch) => {
      const endTimer = commitSeconds.startTimer({ operation: "intake" });
      await insertMessages(batch);
      endTimer();
    },
    maxItems: 200,
    maxBytes: 32 * 1024 * 1024,
    sizeOf: (row) => row.raw.length,
    // two batches in flight: one is inserting while the other waits for its WAL flush
    concurrency: 2,
  });
  return committer;
}

/** Stores a message durably and returns its queue id. Rejects with DB_UNAVAILABLE etc.; then nothing is stored. */
export async function storeMessage(message: IncomingMessage): Promise<string> {
  if (message.recipients.length === 0) throw new MailharborError("INVALID_INPUT", "a message needs at least one recipient");
  const row: Row = { ...message, id: message.id ?? newQueueId(), receivedAt: new Date() };
  await getCommitter().submit(row);
  return row.id;
}
