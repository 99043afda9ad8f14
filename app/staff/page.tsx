import type { Metadata } from "next";
import Link from "next/link";
import { requireStaff } from "@/app/_server/auth.ts";
import { queryParams } from "@/app/_server/load.ts";
import { formatAge, formatBytes, formatNumber, formatTime } from "@/app/_ui/format.ts";
import { Card, Empty, PageHeader } from "@/app/_ui/page-header.tsx";
import { getDashboardStats } from "@/lib/stats/dashboard-stats.ts";
import { SessionChart } from "./session-chart.tsx";

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

export default async function Dashboard({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireStaff();
  const range = queryParams(await searchParams).range === "day" ? "day" : "fortnight";
  const stats = await getDashboardStats(actor, range);
  return (
    <>
      <PageHeader title="Dashboard" />
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <Stat label="Held messages" value={formatNumber(stats.heldMessages)} sub={`${formatNumber(stats.heldDeliveries)} recipient${stats.heldDeliveries === 1 ? "" : "s"}`} />
        <Stat label="Held bytes" value={formatBytes(stats.heldBytes)} />
        <Stat
          label="Oldest held message"
          value={stats.oldestHeld ? formatAge(stats.oldestHeld.receivedAt) : "—"}
          sub={stats.oldestHeld ? <Link href={`/staff/queue/${stats.oldestHeld.id}`}>{formatTime(stats.oldestHeld.receivedAt)}</Link> : "nothing is held"}
        />
        <Stat label="Released in the last 24 hours" value={formatNumber(stats.releasedLast24h.messages)} sub={`in ${formatNumber(stats.releasedLast24h.sessions)} sessions`} />
      </div>
      <div className="mt-6 grid gap-6 lg:grid-cols-[2fr_1fr]">
        <Card title="ODMR sessions">
          <nav aria-label="Chart range" className="mb-3 flex gap-3 text-sm">
            <Link href="/staff?range=day" aria-current={range === "day" ? "page" : undefined} className={range === "day" ? "font-semibold" : ""}>Last 24 hours</Link>
            <Link href="/staff" aria-current={range === "fortnight" ? "page" : undefined} className={range === "fortnight" ? "font-semibold" : ""}>Last 14 days</Link>
          </nav>
          <SessionChart buckets={stats.sessions.buckets} bucket={stats.sessions.bucket} />
        </Card>
        <Card title="Most held mail">
          {stats.topCustomers.length === 0 ? <Empty>Nothing is held.</Empty> : (
            <ol className="space-y-2 text-sm">
              {stats.topCustomers.map((c) => (
                <li key={c.id} className="flex justify-between gap-3">
                  <Link href={`/staff/queue?customerId=${c.id}`} className="truncate">{c.name}</Link>
                  <span className="tabular-nums">{formatNumber(c.held)}</span>
                </li>
              ))}
            </ol>
          )}
        </Card>
      </div>
    </>
  );
}
