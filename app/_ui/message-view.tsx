// One message: envelope, header summary, deliveries and the raw header block. Everything here came
// from the sender and is untrusted: it is only ever rendered as escaped text, never as HTML.
import { formatAge, formatBytes, formatTime, formatTimeLeft } from "./format.ts";
import { Card, Facts, StateBadge, TableWrap } from "./page-header.tsx";
import type { MessageDetail } from "@/lib/queue/message-detail.ts";

// eslint-disable-next-line react-hooks/purity -- a server component renders once per request: "now" is that request's time
export function MessageView({ message, staff, now = Date.now() }: { message: MessageDetail; staff: boolean; now?: number }) {
  const envelope: [string, React.ReactNode][] = [
    ["Queue id", <code key="id">{message.id}</code>],
    ["Envelope sender", message.mailFrom || "<> (a bounce)"],
    ["Received", `${formatTime(message.receivedAt)} (${formatAge(message.receivedAt, now)})`],
    ["Size", formatBytes(message.size)],
    ["Expires in", formatTimeLeft(message.expiresAt, now)],
  ];
  if (staff) {
    envelope.push(["Client", `${message.clientAddress ?? "unknown"}${message.heloName ? ` (HELO ${message.heloName})` : ""}`]);
    envelope.push(["Body", `${message.bodyType ?? "7BIT"}${message.smtputf8 ? ", SMTPUTF8" : ""}`]);
  }
  return (
    <div className="space-y-6">
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Envelope">
          <Facts items={envelope} />
        </Card>
        <Card title="Headers">
          <Facts
            items={[
              ["From", message.fromHeader ?? "—"],
              ["Subject", message.subject ?? "—"],
              ["Date", message.dateHeader ?? "—"],
              ["Message-ID", message.messageIdHdr ?? "—"],
            ]}
          />
        </Card>
      </div>
      <Card title="Recipients">
        <TableWrap label="Recipients">
          <table>
            <thead>
              <tr>
                <th>Recipient</th>
                <th>Domain</th>
                {staff ? <th>Customer</th> : null}
                <th>State</th>
                <th>Attempts</th>
                <th>Last error</th>
                {staff ? <th>Lease</th> : null}
              </tr>
            </thead>
            <tbody>
              {message.deliveries.map((d) => (
                <tr key={d.id}>
                  <td className="break-all">
                    {d.recipient}
                    {d.listedAs ? <div className="text-xs text-slate-500">listed as {d.listedAs}</div> : null}
                  </td>
                  <td>{d.domain.name}</td>
                  {staff ? <td>{d.customer.name}</td> : null}
                  <td>
                    <StateBadge state={d.state} />
                    {d.deliveredAt ? <div className="text-xs text-slate-500">{formatTime(d.deliveredAt)}</div> : null}
                  </td>
                  <td>
                    {d.attempts}
                    {d.lastAttemptAt ? <div className="text-xs text-slate-500">last {formatTime(d.lastAttemptAt)}</div> : null}
                  </td>
                  <td className="max-w-80 font-mono text-xs break-words">{d.lastError ?? "—"}</td>
                  {staff ? <td className="text-xs break-all">{d.leaseOwner ? `${d.leaseOwner} until ${formatTime(d.leaseUntil)}` : "—"}</td> : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Card>
      <Card title="Raw headers">
        {message.headers ? (
          <>
            <pre className="max-h-[32rem] overflow-auto rounded bg-slate-50 p-3 font-mono text-xs break-all whitespace-pre-wrap" data-testid="raw-headers">
              {message.headers.text}
            </pre>
            {message.headers.truncated ? <p className="mt-2 text-xs text-slate-500">The header block is longer than 64 KB; the rest is cut off here.</p> : null}
          </>
        ) : (
          <p className="text-sm text-slate-500">The message content has been purged (it was delivered or expired).</p>
        )}
      </Card>
    </div>
  );
}
