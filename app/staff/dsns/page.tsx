import type { Metadata } from "next";
import Link from "next/link";
import { DsnStatusBadge } from "./dsn-status-badge.tsx";
import { withPage } from "@/app/_server/auth.ts";
import { orProblem, queryParams } from "@/app/_server/load.ts";
import { formatNumber, formatTime } from "@/app/_ui/format.ts";
import { Card, Empty, PageHeader, TableWrap } from "@/app/_ui/page-header.tsx";
import { ProblemAlert } from "@/app/_ui/problem-alert.tsx";
import { getConfig } from "@/lib/config/config.ts";
import { DSN_STATUSES, type DsnStatus } from "@/lib/dsn/dsn-status.ts";
import { listDsns } from "@/lib/dsn/list-dsns.ts";

export const metadata: Metadata = { title: "DSNs" };

const LABELS: Record<DsnStatus, string> = { held: "Held", failed: "Failed", pending: "Waiting to send", sent: "Sent" };

export default withPage("staff", async function DsnListPage(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = queryParams(await searchParams);
  const status = params.status as DsnStatus | undefined;
  const { result, problem } = await orProblem(listDsns(actor, { status, limit: 200 }));
  const smarthost = getConfig().SMARTHOST;
  return (
    <>
      <PageHeader title="DSNs" description="Delivery status notifications (RFC 3464) owed to senders of bounced, expired or returned mail, newest first." />
      {smarthost ? (
        <p className="mb-4 text-sm text-slate-600">
          DSNs leave through the smarthost <code>{smarthost}</code> at each housekeeping run; a held or failed one can be sent from its page.
        </p>
      ) : (
        <p role="note" className="mb-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-200 ring-inset">
          No SMARTHOST is configured: DSNs are kept here and senders are not told. Set SMARTHOST=host:port and restart to send them.
        </p>
      )}
      <ProblemAlert problem={problem} />
      {result ? (
        <>
          <nav aria-label="DSN status" className="mb-4 flex flex-wrap gap-2 text-sm">
            <Link href="/staff/dsns" aria-current={!status ? "page" : undefined} className={!status ? "font-semibold" : ""}>
              All
            </Link>
            {DSN_STATUSES.map((s) => (
              <Link key={s} href={`/staff/dsns?status=${s}`} aria-current={status === s ? "page" : undefined} className={status === s ? "font-semibold" : ""}>
                {LABELS[s]} ({formatNumber(result.counts[s])})
              </Link>
            ))}
          </nav>
          <Card>
            {result.items.length === 0 ? (
              <Empty>No DSNs{status ? ` ${LABELS[status].toLowerCase()}` : ""}.</Empty>
            ) : (
              <TableWrap label="DSNs">
                <table>
                  <thead>
                    <tr>
                      <th>Created</th>
                      <th>To (envelope sender)</th>
                      <th>Reason</th>
                      <th>Message</th>
                      <th>Status</th>
                      <th>Last error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {result.items.map((d) => (
                      <tr key={d.id}>
                        <td>
                          <Link href={`/staff/dsns/${d.id}`}>{formatTime(d.createdAt)}</Link>
                        </td>
                        <td className="break-all">{d.rcptTo}</td>
                        <td>{d.reason}</td>
                        <td>
                          {d.messageId ? (
                            <Link href={`/staff/queue/${d.messageId}`} className="font-mono text-xs">
                              {d.messageId}
                            </Link>
                          ) : (
                            "—"
                          )}
                        </td>
                        <td>
                          <DsnStatusBadge status={d.status} />
                          {d.sentAt ? <div className="text-xs text-slate-500">{formatTime(d.sentAt)}</div> : null}
                        </td>
                        <td className="max-w-80 font-mono text-xs break-words">{d.lastError ?? "—"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </Card>
        </>
      ) : null}
    </>
  );
});
