import type { Metadata } from "next";
import Link from "next/link";
import { sendDsnNowAction } from "../actions.ts";
import { DsnStatusBadge } from "../dsn-status-badge.tsx";
import { withPage } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { formatBytes, formatTime } from "@/app/_ui/format.ts";
import { Card, Facts, PageHeader } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { getConfig } from "@/lib/config/config.ts";
import { getDsn } from "@/lib/dsn/list-dsns.ts";

export const metadata: Metadata = { title: "DSN" };

export default withPage("staff", async function DsnPage(actor, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const dsn = await getDsn(actor, id);
  const smarthost = getConfig().SMARTHOST;
  return (
    <>
      <PageHeader
        title={`DSN to ${dsn.rcptTo}`}
        description={<Link href="/staff/dsns">← DSNs</Link>}
        actions={
          smarthost ? (
            // the form stays once the DSN is sent, so its answer stays on the page
            <ActionForm action={sendDsnNowAction} className="" label="Send now">
              <input type="hidden" name="id" value={dsn.id} />
              {dsn.status === "sent" ? null : <SubmitButton>Send now</SubmitButton>}
            </ActionForm>
          ) : dsn.status === "sent" ? null : (
            <p role="note" className="max-w-xs text-sm text-amber-900">
              No SMARTHOST is configured: set one to send this DSN.
            </p>
          )
        }
      />
      <div className="space-y-6">
        <Card title="Notification">
          <Facts
            items={[
              ["Status", <DsnStatusBadge key="s" status={dsn.status} />],
              ["To", dsn.rcptTo],
              ["Reason", dsn.reason],
              [
                "About message",
                dsn.messageId ? (
                  <Link key="m" href={`/staff/queue/${dsn.messageId}`} className="font-mono">
                    {dsn.messageId}
                  </Link>
                ) : (
                  "—"
                ),
              ],
              ["Created", formatTime(dsn.createdAt)],
              ["Sent", dsn.sentAt ? formatTime(dsn.sentAt) : "—"],
              ["Attempts", String(dsn.attempts)],
              [
                "Last error",
                dsn.lastError ? (
                  <span key="e" className="font-mono text-xs">
                    {dsn.lastError}
                  </span>
                ) : (
                  "—"
                ),
              ],
              ["Size", formatBytes(dsn.size)],
            ]}
          />
        </Card>
        <Card title="Text">
          <pre className="max-h-[40rem] overflow-auto rounded bg-slate-50 p-3 font-mono text-xs break-all whitespace-pre-wrap" data-testid="dsn-text">
            {dsn.text}
          </pre>
          {dsn.truncated ? <p className="mt-2 text-xs text-slate-500">The DSN is longer than 256 KB; the rest is cut off here.</p> : null}
        </Card>
      </div>
    </>
  );
});
