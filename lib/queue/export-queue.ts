// The filtered queue as CSV (RFC 4180), for a spreadsheet: one line per delivery that matches the
// filter, newest message first, read page by page (keyset, like the portal's list) so a million
// rows stream without being held in memory. Cells go through csvCell, the recipient export's rule
// against spreadsheet formulas (CSV injection).
import type { Actor } from "../actor.ts";
import { searchQueue, type QueueFilter } from "./search-queue.ts";
import { csvCell } from "../recipients/recipients-csv.ts";

const PAGE = 500;

function line(cells: (string | number | null)[]): string {
  return cells.map((c) => csvCell(c === null ? "" : String(c))).join(",") + "\r\n";
}

/** The header line, then one line per matching delivery; staff also get the customer column. */
export async function* queueCsvLines(actor: Actor, filter: QueueFilter, pageSize = PAGE): AsyncGenerator<string> {
  const staff = actor.type !== "customer";
  yield line([
    "queue_id",
    "received",
    "sender",
    "subject",
    "recipient",
    "state",
    "attempts",
    "last_error",
    "domain",
    ...(staff ? ["customer"] : []),
    "expires",
  ]);
  let before: string | undefined;
  // bounded: each page moves the cursor below every message it returned
  for (;;) {
    const page = await searchQueue(actor, { ...filter, before, limit: pageSize, skipCount: true });
    for (const m of page.items) {
      for (const d of m.deliveries) {
        yield line([
          m.id,
          m.receivedAt.toISOString(),
          m.mailFrom,
          m.subject,
          d.recipient,
          d.state,
          d.attempts,
          d.lastError,
          d.domainName,
          ...(staff ? [d.customerName] : []),
          m.expiresAt?.toISOString() ?? null,
        ]);
      }
    }
    if (!page.olderCursor) return;
    before = page.olderCursor;
  }
}
