// ODMR/ETRN sessions with their outcome, for staff and for a customer's own.
import Link from "next/link";
import { DomainName } from "./domain-name.tsx";
import { formatBytes, formatDuration, formatTime } from "./format.ts";
import { Badge, Empty, StateBadge, TableWrap } from "./page-header.tsx";
import type { listSessions } from "@/lib/sessions/list-sessions.ts";

type Session = Awaited<ReturnType<typeof listSessions>>["items"][number];

export function SessionsTable({ sessions, staff }: { sessions: Session[]; staff: boolean }) {
  if (!sessions.length) return <Empty>No sessions yet.</Empty>;
  return (
    <TableWrap label="Sessions">
      <table>
        <thead>
          <tr>
            <th>Started</th>
            {staff ? <th>Customer</th> : null}
            <th>Login</th>
            <th>From</th>
            <th>Domains</th>
            <th>Result</th>
            <th>Reply</th>
            <th className="text-right">Released</th>
            <th>Length</th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id}>
              <td className="whitespace-nowrap">{formatTime(s.startedAt)}</td>
              {staff ? <td>{s.customerId ? <Link href={`/staff/customers/${s.customerId}`}>{s.customerName ?? "?"}</Link> : "—"}</td> : null}
              <td>
                {s.loginId ? <Link href={staff ? `/staff/logins/${s.loginId}` : `/my/logins/${s.loginId}`}>{s.loginName}</Link> : (s.loginName ?? "—")}
                {s.kind === "etrn" ? (
                  <>
                    {" "}
                    <Badge>ETRN</Badge>
                  </>
                ) : null}
              </td>
              <td className="whitespace-nowrap">
                {s.remoteAddress}
                {s.tls ? (
                  <>
                    {" "}
                    <Badge tone="green">TLS</Badge>
                  </>
                ) : null}
              </td>
              <td className="break-all">
                {s.domainsRequested.length
                  ? s.domainsRequested.map((d, i) => (
                      <span key={d}>
                        {i ? ", " : null}
                        <DomainName name={d} />
                      </span>
                    ))
                  : "—"}
              </td>
              <td>
                <StateBadge state={s.result} />
              </td>
              <td className="max-w-64 text-xs break-words">
                <span className="font-mono">{s.reply ?? s.outcome ?? "—"}</span>
                {/* what happened after the reply: an ETRN run's delivery, or why a granted release did not take place */}
                {s.reply && s.outcome && (s.kind === "etrn" || s.result === "failed") ? (
                  <div className={s.result === "failed" ? "mt-1 text-red-800" : "mt-1 text-slate-500"}>{s.outcome}</div>
                ) : null}
              </td>
              <td className="text-right whitespace-nowrap">
                {s.result === "failed" ? (
                  "nothing"
                ) : (
                  <>
                    {s.messagesDelivered} msg · {formatBytes(s.bytesDelivered)}
                  </>
                )}
              </td>
              <td className="whitespace-nowrap">{s.endedAt ? formatDuration(s.endedAt.getTime() - s.startedAt.getTime()) : "open"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
