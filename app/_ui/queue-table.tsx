// A page of the queue: for staff every matching message, for a customer its own held mail.
import Link from "next/link";
import type { QueuePage } from "@/lib/queue/search-queue.ts";
import { formatAge, formatBytes, formatNumber, formatTimeLeft } from "./format.ts";
import { Empty, StateBadge, TableWrap } from "./page-header.tsx";

export const AGE_FILTERS: Record<string, { label: string; olderThanHours?: number; newerThanHours?: number }> = {
  n1h: { label: "Newer than 1 hour", newerThanHours: 1 },
  n24h: { label: "Newer than 1 day", newerThanHours: 24 },
  o1h: { label: "Older than 1 hour", olderThanHours: 1 },
  o24h: { label: "Older than 1 day", olderThanHours: 24 },
  o7d: { label: "Older than 7 days", olderThanHours: 24 * 7 },
  o30d: { label: "Older than 30 days", olderThanHours: 24 * 30 },
};

export function QueueTable({ page, hrefFor, pageHref, staff, now = Date.now() }: {
  page: QueuePage;
  /** link to one message */
  hrefFor: (id: string) => string;
  /** link to the page older ("before") or newer ("after") than a cursor */
  pageHref: (cursor: { before?: string; after?: string }) => string;
  staff: boolean;
  now?: number;
}) {
  const countText = page.countCapped ? `more than ${formatNumber(page.count)}` : formatNumber(page.count);
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-600" data-testid="queue-count">{countText} message{page.count === 1 && !page.countCapped ? "" : "s"}</p>
      {page.items.length === 0 ? <Empty>No messages match.</Empty> : (
        <TableWrap label="Messages">
          {/* on a phone each message is a stacked card instead of a wide row */}
          <table className="max-sm:block">
            <thead className="max-sm:hidden">
              <tr>
                <th>Received</th><th>Sender</th><th>Subject</th><th>Recipients</th><th className="text-right">Size</th><th>Expires in</th>
              </tr>
            </thead>
            <tbody className="max-sm:block">
              {page.items.map((m) => (
                <tr key={m.id} className="max-sm:block max-sm:border-b max-sm:border-slate-200 max-sm:py-2 max-sm:[&>td]:block max-sm:[&>td]:border-0 max-sm:[&>td]:py-0.5">
                  <td className="whitespace-nowrap">
                    <Link href={hrefFor(m.id)} className="font-mono text-xs">{m.id}</Link>
                    <div className="text-xs text-slate-500" title={m.receivedAt.toISOString()}>{formatAge(m.receivedAt, now)}</div>
                  </td>
                  <td className="max-w-56 break-words max-sm:max-w-none">{m.mailFrom || "<>"}{m.fromHeader ? <div className="text-xs text-slate-500">{m.fromHeader}</div> : null}</td>
                  <td className="max-w-72 break-words font-medium max-sm:max-w-none">{m.subject ?? <span className="text-slate-400">(no subject)</span>}</td>
                  <td className="max-w-72 max-sm:max-w-none">
                    <ul className="space-y-0.5">
                      {m.deliveries.slice(0, 5).map((d) => (
                        <li key={d.id} className="break-all">
                          {d.recipient} <StateBadge state={d.state} />
                          {staff ? <span className="text-xs text-slate-500"> · {d.customerName}</span> : null}
                        </li>
                      ))}
                      {m.deliveries.length > 5 ? <li className="text-xs text-slate-500">and {m.deliveries.length - 5} more</li> : null}
                    </ul>
                  </td>
                  <td className="text-right whitespace-nowrap max-sm:text-left"><span className="text-slate-500 sm:hidden">Size </span>{formatBytes(m.size)}</td>
                  <td className="whitespace-nowrap"><span className="text-slate-500 sm:hidden">Expires in </span>{formatTimeLeft(m.expiresAt, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <nav aria-label="Pages" className="flex justify-between text-sm">
        {page.newerCursor ? <Link href={pageHref({ after: page.newerCursor })} rel="prev">← Newer</Link> : <span />}
        {page.olderCursor ? <Link href={pageHref({ before: page.olderCursor })} rel="next">Older →</Link> : <span />}
      </nav>
    </div>
  );
}
