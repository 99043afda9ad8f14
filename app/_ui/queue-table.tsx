// A page of the queue: for staff every matching message, for a customer its own held mail.
import Link from "next/link";
import { SelectAll } from "./bulk-actions.tsx";
import { formatAge, formatBytes, formatNumber, formatTimeLeft } from "./format.ts";
import { Empty, StateBadge, TableWrap } from "./page-header.tsx";
import type { QueuePage } from "@/lib/queue/search-queue.ts";

/** A last error is cut to this in the list; the full text is its tooltip and on the message page. */
const ERROR_SHOWN = 90;

export function queueCountText(page: QueuePage): string {
  return page.countCapped ? `more than ${formatNumber(page.count)}` : formatNumber(page.count);
}

export function QueueTable({
  page,
  hrefFor,
  pageHref,
  staff,
  selectForm,
  // eslint-disable-next-line react-hooks/purity -- a server component renders once per request: "now" is that request's time
  now = Date.now(),
}: {
  page: QueuePage;
  /** link to one message */
  hrefFor: (id: string) => string;
  /** link to the page older ("before") or newer ("after") than a cursor */
  pageHref: (cursor: { before?: string; after?: string }) => string;
  staff: boolean;
  /** the bulk form the rows' checkboxes belong to (none: no checkboxes) */
  selectForm?: string;
  now?: number;
}) {
  const countText = queueCountText(page);
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-600" data-testid="queue-count">
        {countText} message{page.count === 1 && !page.countCapped ? "" : "s"}
      </p>
      {page.items.length === 0 ? (
        <Empty>No messages match.</Empty>
      ) : (
        <TableWrap label="Messages">
          {/* on a phone each message is a stacked card instead of a wide row */}
          <table className="max-sm:block">
            <thead className="max-sm:hidden">
              <tr>
                {selectForm ? (
                  <th className="w-8">
                    <SelectAll form={selectForm} name="ids" label="Select every message on this page" />
                  </th>
                ) : null}
                <th>Received</th>
                <th>Sender</th>
                <th>Subject</th>
                <th>Recipients</th>
                <th className="text-right">Size</th>
                <th>Expires in</th>
              </tr>
            </thead>
            <tbody className="max-sm:block">
              {page.items.map((m) => (
                <tr
                  key={m.id}
                  className="max-sm:block max-sm:border-b max-sm:border-slate-200 max-sm:py-2 max-sm:[&>td]:block max-sm:[&>td]:border-0 max-sm:[&>td]:py-0.5"
                >
                  {selectForm ? (
                    <td className="w-8">
                      <input type="checkbox" form={selectForm} name="ids" value={m.id} aria-label={`Select message ${m.id}`} />
                    </td>
                  ) : null}
                  <td className="whitespace-nowrap">
                    <Link href={hrefFor(m.id)} className="font-mono text-xs">
                      {m.id}
                    </Link>
                    <div className="text-xs text-slate-500" title={m.receivedAt.toISOString()}>
                      {formatAge(m.receivedAt, now)}
                    </div>
                  </td>
                  <td className="max-w-56 break-words max-sm:max-w-none">
                    {m.mailFrom || "<>"}
                    {m.fromHeader ? <div className="text-xs text-slate-500">{m.fromHeader}</div> : null}
                  </td>
                  <td className="max-w-72 break-words font-medium max-sm:max-w-none">{m.subject ?? <span className="text-slate-400">(no subject)</span>}</td>
                  <td className="max-w-72 max-sm:max-w-none">
                    <ul className="space-y-0.5">
                      {m.deliveries.slice(0, 5).map((d) => (
                        <li key={d.id} className="break-all">
                          {d.recipient} <StateBadge state={d.state} />
                          {staff ? <span className="text-xs text-slate-500"> · {d.customerName}</span> : null}
                          {d.lastError ? (
                            <span className="block font-mono text-xs break-words text-red-800" title={d.lastError} data-testid="last-error">
                              {d.lastError.length > ERROR_SHOWN ? `${d.lastError.slice(0, ERROR_SHOWN - 1)}…` : d.lastError}
                            </span>
                          ) : null}
                        </li>
                      ))}
                      {m.deliveries.length > 5 ? <li className="text-xs text-slate-500">and {m.deliveries.length - 5} more</li> : null}
                    </ul>
                  </td>
                  <td className="text-right whitespace-nowrap max-sm:text-left">
                    <span className="text-slate-500 sm:hidden">Size </span>
                    {formatBytes(m.size)}
                  </td>
                  <td className="whitespace-nowrap">
                    <span className="text-slate-500 sm:hidden">Expires in </span>
                    {formatTimeLeft(m.expiresAt, now)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <nav aria-label="Pages" className="flex justify-between text-sm">
        {page.newerCursor ? (
          <Link href={pageHref({ after: page.newerCursor })} rel="prev">
            ← Newer
          </Link>
        ) : (
          <span />
        )}
        {page.olderCursor ? (
          <Link href={pageHref({ before: page.olderCursor })} rel="next">
            Older →
          </Link>
        ) : (
          <span />
        )}
      </nav>
    </div>
  );
}
