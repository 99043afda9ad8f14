// "Test my connection": a login's recent sessions as readable transcripts (lib/sessions/login-transcripts.ts),
// the newest open, for the customer and for staff alike.
import { formatTime } from "./format.ts";
import { Badge, Card, Empty, StateBadge } from "./page-header.tsx";
import type { listLoginTranscripts } from "@/lib/sessions/login-transcripts.ts";
import { FAILED_AUTH_SESSIONS_KEPT } from "@/lib/sessions/record-session.ts";

type Session = Awaited<ReturnType<typeof listLoginTranscripts>>[number];

const STEP_LABELS: Record<string, string> = {
  connect: "connect",
  tls: "TLS",
  ehlo: "EHLO",
  auth: "AUTH",
  atrn: "ATRN",
  greeting: "their server",
  hello: "EHLO",
  message: "message",
  note: "note",
  end: "end",
};

function seconds(ms: number): string {
  return `+${(ms / 1000).toFixed(3)} s`;
}

export function SessionTranscripts({ sessions }: { sessions: Session[] }) {
  return (
    <Card title="Test my connection" className="lg:col-span-2">
      <p className="mb-4 text-sm text-slate-600">
        Let your server collect its mail (run fetchmail or <code>exim -atrn</code>), then reload this page: each attempt appears here, newest first, with the
        answer to its AUTH and ATRN, your server&apos;s reply to each message, and why the session ended. Failed logins with this name are listed too (the
        newest {FAILED_AUTH_SESSIONS_KEPT}).
      </p>
      {sessions.length === 0 ? (
        <Empty>No connection with this login yet.</Empty>
      ) : (
        <ol className="space-y-3" data-testid="transcripts">
          {sessions.map((s, i) => (
            <li key={s.id}>
              <details open={i === 0} className="rounded-md border border-slate-200" data-testid="transcript">
                <summary className="flex cursor-pointer flex-wrap items-center gap-2 px-3 py-2 text-sm">
                  <span className="font-medium whitespace-nowrap">{formatTime(s.startedAt)}</span>
                  <span className="text-slate-600">from {s.remoteAddress}</span>
                  {s.tls ? <Badge tone="green">TLS</Badge> : null}
                  {s.authenticated ? <StateBadge state={s.result} /> : <Badge tone="red">authentication failed</Badge>}
                  <span className="text-slate-600">{s.endedAt ? s.outcome : "still running"}</span>
                </summary>
                {s.transcript.length === 0 ? (
                  <p className="px-3 pb-3 text-sm text-slate-500">No transcript was recorded for this session.</p>
                ) : (
                  <table className="w-full text-xs">
                    <tbody>
                      {s.transcript.map((e, j) => (
                        <tr key={j} className="border-t border-slate-100 align-top">
                          <td className="px-3 py-1 whitespace-nowrap text-slate-500">{seconds(e.at)}</td>
                          <td className="px-2 py-1 font-medium whitespace-nowrap">{STEP_LABELS[e.step] ?? e.step}</td>
                          <td className="px-2 py-1 font-mono break-all">{e.text}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </details>
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}
