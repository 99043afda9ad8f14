import Link from "next/link";
import type { ReactNode } from "react";

/** One step of the trail above a page's title. */
export interface Crumb {
  href: string;
  label: ReactNode;
}

/** Where a page sits: each step a link, the page itself last (WAI-ARIA breadcrumb pattern). */
export function Breadcrumbs({ crumbs, current }: { crumbs: Crumb[]; current: ReactNode }) {
  return (
    <nav aria-label="Breadcrumb" className="mb-2 text-sm text-slate-500">
      <ol className="flex flex-wrap items-center gap-x-1.5">
        {crumbs.map((c) => (
          <li key={c.href} className="flex items-center gap-x-1.5">
            <Link href={c.href}>{c.label}</Link>
            <span aria-hidden>›</span>
          </li>
        ))}
        <li aria-current="page" className="min-w-0 truncate text-slate-700">
          {current}
        </li>
      </ol>
    </nav>
  );
}

export function PageHeader({ title, description, actions, crumbs }: { title: string; description?: ReactNode; actions?: ReactNode; crumbs?: Crumb[] }) {
  return (
    <div className="mb-6">
      {crumbs ? <Breadcrumbs crumbs={crumbs} current={title} /> : null}
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div className="min-w-0">
          <h1 className="text-2xl font-semibold tracking-tight break-words">{title}</h1>
          {description ? <p className="mt-1 text-sm text-slate-600">{description}</p> : null}
        </div>
        {/* the buttons' forms melt into this row and each form's message takes a line of its own below it */}
        {actions ? (
          <div className="flex flex-wrap items-start gap-2 [&>form]:contents [&>form>[data-action-message]]:order-last [&>form>[data-action-message]]:basis-full">
            {actions}
          </div>
        ) : null}
      </div>
    </div>
  );
}

export function Card({ title, children, className = "" }: { title?: string; children: ReactNode; className?: string }) {
  return (
    <section className={`min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5 ${className}`} aria-label={title}>
      {title ? <h2 className="mb-3 text-base font-semibold">{title}</h2> : null}
      {children}
    </section>
  );
}

export function TableWrap({ children, label }: { children: ReactNode; label: string }) {
  return (
    <div className="-mx-4 overflow-x-auto sm:mx-0" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="rounded-md border border-dashed border-slate-300 p-6 text-center text-sm text-slate-500">{children}</p>;
}

const TONES = {
  green: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  amber: "bg-amber-50 text-amber-800 ring-amber-200",
  red: "bg-red-50 text-red-800 ring-red-200",
  slate: "bg-slate-100 text-slate-700 ring-slate-200",
  sky: "bg-sky-50 text-sky-800 ring-sky-200",
} as const;

export function Badge({ tone = "slate", children }: { tone?: keyof typeof TONES; children: ReactNode }) {
  return (
    <span className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset ${TONES[tone]}`}>
      {children}
    </span>
  );
}

const STATE_TONES: Record<string, keyof typeof TONES> = {
  queued: "sky",
  delivering: "amber",
  delivered: "green",
  bounced: "red",
  expired: "red",
  active: "green",
  suspended: "red",
  disabled: "slate",
  released: "green",
  "no-mail": "slate",
  failed: "red",
  refused: "red",
  "no-atrn": "amber",
};

export function StateBadge({ state }: { state: string }) {
  return <Badge tone={STATE_TONES[state] ?? "slate"}>{state}</Badge>;
}

/** Whether a domain's MX currently accepts mail for it; a suspended customer's mail is deferred (450) whatever the switch says. */
export function InboundBadge({ accepting, suspended = false }: { accepting: boolean; suspended?: boolean }) {
  if (suspended) return <Badge tone="red">deferred: customer suspended</Badge>;
  return accepting ? <Badge tone="green">accepting</Badge> : <Badge tone="amber">paused</Badge>;
}

/** Definition list for a record's fields. */
export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-1 gap-x-6 gap-y-3 text-sm sm:grid-cols-[max-content_1fr]">
      {items.map(([term, value]) => (
        <div key={term} className="contents">
          <dt className="font-medium text-slate-500">{term}</dt>
          <dd className="min-w-0 break-words">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export const buttonClass = {
  primary:
    "inline-flex items-center justify-center rounded-md bg-sky-700 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-sky-800 disabled:opacity-60 no-underline hover:no-underline",
  secondary:
    "inline-flex items-center justify-center rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-800 shadow-sm hover:bg-slate-50 disabled:opacity-60 no-underline hover:no-underline",
  danger:
    "inline-flex items-center justify-center rounded-md bg-red-700 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-red-800 disabled:opacity-60",
} as const;
