import type { Metadata } from "next";
import Link from "next/link";
import { SessionChart } from "./session-chart.tsx";
import { withPage } from "@/app/_server/auth.ts";
import { queryParams } from "@/app/_server/load.ts";
import { formatAge, formatBytes, formatNumber, formatTime } from "@/app/_ui/format.ts";
import { Card, Empty, PageHeader } from "@/app/_ui/page-header.tsx";
import { getConfig } from "@/lib/config/config.ts";
import { EXACT_UP_TO, getDashboardStats, type DashboardStats } from "@/lib/stats/dashboard-stats.ts";

export const metadata: Metadata = { title: "Dashboard" };

function Stat({ label, value, sub }: { label: string; value: string; sub?: React.ReactNode }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <p className="text-sm text-slate-500">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums">{value}</p>
      {sub ? <p className="mt-1 text-xs text-slate-500">{sub}</p> : null}
    </div>
  );
}

/** What a new installation needs, in order; shown until every step is done. */
function GettingStarted({ setup, mailHost }: { setup: DashboardStats["setup"]; mailHost: string }) {
  const steps: { done: boolean; title: string; body: React.ReactNode }[] = [
    {
      done: setup.customers > 0,
      title: "Create a customer",
      body: (
        <>
          <Link href="/staff/customers">Customers</Link> → New customer: the ISP’s client whose mail is held here.
        </>
      ),
    },
    {
      done: setup.logins > 0,
      title: "Create an ODMR login",
      body: <>On the customer’s page → New login. Its secret is shown once, with a ready fetchmail configuration for the customer’s server.</>,
    },
    {
      done: setup.domains > 0,
      title: "Add a domain",
      body: (
        <>
          On the customer’s page (or under <Link href="/staff/domains">Domains</Link>) → Add a domain, with its recipients unless it accepts every address.
        </>
      ),
    },
    {
      done: setup.mailReceived,
      title: "Point the domain's MX here",
      body: (
        <>
          Publish <code className="break-all">example.com. IN MX 10 {mailHost}.</code> for each domain (this step is done when the first message arrives).
        </>
      ),
    },
  ];
  if (steps.every((s) => s.done)) return null;
  return (
    <Card title="Getting started" className="mb-6">
      <ol className="space-y-3 text-sm" data-testid="getting-started">
        {steps.map((step, i) => (
          <li key={step.title} className="flex gap-3">
            <span
              aria-hidden
              className={`flex size-6 shrink-0 items-center justify-center rounded-full text-xs font-semibold ${step.done ? "bg-emerald-600 text-white" : "bg-slate-200 text-slate-700"}`}
            >
              {step.done ? "✓" : i + 1}
            </span>
            <div>
              <p className="font-medium">
                {step.title}
                {step.done ? <span className="sr-only"> (done)</span> : null}
              </p>
              <p className="text-slate-600">{step.body}</p>
            </div>
          </li>
        ))}
      </ol>
    </Card>
  );
}

export default withPage("staff", async function Dashboard(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const range = queryParams(await searchParams).range === "day" ? "day" : "fortnight";
  const stats = await getDashboardStats(actor, range);
  const about = stats.heldEstimated ? "≈ " : "";
  return (
    <>
      <PageHeader title="Dashboard" />
      <GettingStarted setup={stats.setup} mailHost={getConfig().MAIL_HOSTNAME} />
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <Stat
          label="Held messages"
          value={`${about}${formatNumber(stats.heldMessages)}`}
          sub={`${about}${formatNumber(stats.heldDeliveries)} recipient${stats.heldDeliveries === 1 ? "" : "s"}`}
        />
        <Stat label="Held bytes" value={`${about}${formatBytes(stats.heldBytes)}`} />
        <Stat
          label="Oldest held message"
          value={stats.oldestHeld ? formatAge(stats.oldestHeld.receivedAt) : "—"}
          sub={stats.oldestHeld ? <Link href={`/staff/queue/${stats.oldestHeld.id}`}>{formatTime(stats.oldestHeld.receivedAt)}</Link> : "nothing is held"}
        />
        <Stat
          label="Released in the last 24 hours"
          value={formatNumber(stats.releasedLast24h.messages)}
          sub={`in ${formatNumber(stats.releasedLast24h.sessions)} sessions`}
        />
      </div>
      {stats.heldEstimated ? (
        <p className="mt-2 text-xs text-slate-500" data-testid="held-estimated">
          ≈ More than {formatNumber(EXACT_UP_TO)} recipients are held: these figures are estimated from a sample of the queue, not counted one by one.{" "}
          <Link href="/staff/queue">The queue</Link> lists every message.
        </p>
      ) : null}
      <div className="mt-6 grid gap-6 lg:grid-cols-[2fr_1fr]">
        <Card title="ODMR sessions">
          <nav aria-label="Chart range" className="mb-3 flex gap-3 text-sm">
            <Link href="/staff?range=day" aria-current={range === "day" ? "page" : undefined} className={range === "day" ? "font-semibold" : ""}>
              Last 24 hours
            </Link>
            <Link href="/staff" aria-current={range === "fortnight" ? "page" : undefined} className={range === "fortnight" ? "font-semibold" : ""}>
              Last 14 days
            </Link>
          </nav>
          <SessionChart buckets={stats.sessions.buckets} bucket={stats.sessions.bucket} />
        </Card>
        <Card title="Most held mail">
          {stats.topCustomers.length === 0 ? (
            <Empty>Nothing is held.</Empty>
          ) : (
            <ol className="space-y-2 text-sm">
              {stats.topCustomers.map((c) => (
                <li key={c.id} className="flex justify-between gap-3">
                  <Link href={`/staff/queue?customerId=${c.id}`} className="truncate">
                    {c.name}
                  </Link>
                  <span className="tabular-nums">
                    {about}
                    {formatNumber(c.held)}
                  </span>
                </li>
              ))}
            </ol>
          )}
        </Card>
      </div>
    </>
  );
});
