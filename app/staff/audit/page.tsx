import type { Metadata } from "next";
import Link from "next/link";
import { withPage } from "@/app/_server/auth.ts";
import { orProblem, pickParams, queryParams } from "@/app/_server/load.ts";
import { CustomerSelect } from "@/app/_ui/customer-select.tsx";
import { FilterActions } from "@/app/_ui/filter-actions.tsx";
import { formatTime } from "@/app/_ui/format.ts";
import { Badge, Card, Empty, PageHeader, TableWrap } from "@/app/_ui/page-header.tsx";
import { ProblemAlert } from "@/app/_ui/problem-alert.tsx";
import { AUDIT_ACTOR_TYPES, listAuditEvents } from "@/lib/audit/list-audit-events.ts";
import { listCustomers } from "@/lib/customers/customers.ts";

export const metadata: Metadata = { title: "Audit log" };

const FILTERS = ["actorType", "actor", "action", "objectType", "objectId", "customerId"] as const;

function objectHref(type: string, id: string | null): string | null {
  if (!id) return null;
  switch (type) {
    case "customer":
      return `/staff/customers/${id}`;
    case "domain":
      return `/staff/domains/${id}`;
    case "odmr_login":
      return `/staff/logins/${id}`;
    case "message":
      return `/staff/queue/${id}`;
    default:
      return null;
  }
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function value(v: Json | undefined): string {
  if (v === null || v === undefined || v === "") return "—";
  if (Array.isArray(v)) return v.length ? v.map((x) => value(x)).join(", ") : "none";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** An event's details as people read them: an update as "field: before → after", anything else as "field: value". */
function Details({ details }: { details: Json }) {
  if (!details || typeof details !== "object" || Array.isArray(details)) return details === null ? null : <>{value(details)}</>;
  const { changes, ...rest } = details;
  const shown = Object.entries(rest).filter(([key]) => key !== "name");
  return (
    <ul className="space-y-0.5">
      {changes && typeof changes === "object" && !Array.isArray(changes)
        ? Object.entries(changes).map(([field, change]) => {
            const c = (change ?? {}) as { from?: Json; to?: Json };
            return (
              <li key={field} data-testid="audit-change">
                <span className="text-slate-500">{field}:</span> {value(c.from)} → {value(c.to)}
              </li>
            );
          })
        : null}
      {shown.map(([key, v]) => (
        <li key={key}>
          <span className="text-slate-500">{key}:</span> {value(v)}
        </li>
      ))}
    </ul>
  );
}

export default withPage("staff", async function AuditPage(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = queryParams(await searchParams);
  const customers = await listCustomers(actor, { take: 500 });
  const filter = pickParams(params, FILTERS);
  const { result: events, problem } = await orProblem(listAuditEvents(actor, { ...filter, before: params.before }));
  return (
    <>
      <PageHeader title="Audit log" description="Every change, by staff, customers, the CLI and the mailer." />
      <Card className="mb-6">
        <form role="search" aria-label="Filter the audit log" action="/staff/audit" className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <div>
            <label htmlFor="af-type">Who</label>
            <select id="af-type" name="actorType" defaultValue={params.actorType ?? ""} className="mt-1">
              <option value="">Anyone</option>
              {AUDIT_ACTOR_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="af-actor">User contains</label>
            <input id="af-actor" name="actor" defaultValue={params.actor ?? ""} className="mt-1" />
          </div>
          <div>
            <label htmlFor="af-action">Action</label>
            <input id="af-action" name="action" defaultValue={params.action ?? ""} placeholder="login or login.rotate" className="mt-1" />
          </div>
          <CustomerSelect id="af-customer" customers={customers.items} defaultValue={params.customerId} />
          <FilterActions clearHref="/staff/audit" className="lg:col-span-4" />
        </form>
      </Card>
      <ProblemAlert problem={problem} />
      {events ? (
        events.items.length === 0 ? (
          <Empty>No events match.</Empty>
        ) : (
          <Card>
            <TableWrap label="Audit events">
              <table>
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Who</th>
                    <th>Action</th>
                    <th>Object</th>
                    <th>Customer</th>
                    <th>Details</th>
                  </tr>
                </thead>
                <tbody>
                  {events.items.map((e) => {
                    const href = objectHref(e.objectType, e.objectId);
                    return (
                      <tr key={e.id}>
                        <td className="whitespace-nowrap">{formatTime(e.createdAt)}</td>
                        <td className="break-all">
                          <Badge>{e.actorType}</Badge> {e.actorLabel}
                        </td>
                        <td className="font-mono text-xs">{e.action}</td>
                        <td className="text-xs break-all">
                          <span className="text-slate-500">{e.objectType.replace("_", " ")}</span>{" "}
                          {e.objectId ? (
                            href ? (
                              <Link href={href} title={e.objectId}>
                                {e.objectName ?? e.objectId}
                              </Link>
                            ) : (
                              <span title={e.objectId}>{e.objectName ?? e.objectId}</span>
                            )
                          ) : null}
                        </td>
                        <td>
                          {e.customerId ? (
                            e.customerName ? (
                              <Link href={`/staff/customers/${e.customerId}`}>{e.customerName}</Link>
                            ) : (
                              <span className="text-slate-500">deleted customer</span>
                            )
                          ) : (
                            "—"
                          )}
                        </td>
                        <td className="max-w-96 text-xs break-words">
                          <Details details={e.details as Json} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableWrap>
            {events.nextCursor ? (
              <p className="mt-4 text-right text-sm">
                <Link href={`/staff/audit?${new URLSearchParams({ ...filter, before: events.nextCursor })}`}>Older →</Link>
              </p>
            ) : null}
          </Card>
        )
      ) : null}
    </>
  );
});
