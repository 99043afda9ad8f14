import type { Metadata } from "next";
import Link from "next/link";
import { withPage } from "@/app/_server/auth.ts";
import { orProblem, pickParams, queryParams } from "@/app/_server/load.ts";
import { CustomerSelect } from "@/app/_ui/customer-select.tsx";
import { FilterActions } from "@/app/_ui/filter-actions.tsx";
import { formatNumber, formatTime } from "@/app/_ui/format.ts";
import { Badge, Card, Empty, PageHeader, StateBadge, TableWrap } from "@/app/_ui/page-header.tsx";
import { PageLinks } from "@/app/_ui/page-links.tsx";
import { ProblemAlert } from "@/app/_ui/problem-alert.tsx";
import { listCustomers } from "@/lib/customers/customers.ts";
import { searchLogins } from "@/lib/logins/search-logins.ts";

export const metadata: Metadata = { title: "ODMR logins" };

const PAGE = 50;
const FILTERS = ["q", "customerId", "status"] as const;

export default withPage(
  "staff",
  async function StaffLoginsPage(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
    const params = queryParams(await searchParams);
    const page = Math.max(1, Number.parseInt(params.page ?? "1", 10) || 1);
    const [customers, { result, problem }] = await Promise.all([
      listCustomers(actor, { take: 500 }),
      orProblem(searchLogins(actor, { search: params.q, customerId: params.customerId, status: params.status as never, take: PAGE, skip: (page - 1) * PAGE })),
    ]);
    const kept = pickParams(params, FILTERS);
    const link = (p: number) => `/staff/logins?${new URLSearchParams({ ...kept, page: String(p) })}`;
    return (
      <>
        <PageHeader
          title="ODMR logins"
          description={
            <>{result ? `${formatNumber(result.total)} login${result.total === 1 ? "" : "s"}. ` : null}New logins are created on their customer&apos;s page.</>
          }
        />
        <Card className="mb-6">
          <form role="search" aria-label="Filter logins" action="/staff/logins" className="grid grid-cols-1 gap-3 sm:grid-cols-4">
            <div>
              <label htmlFor="lf-q">Login name contains</label>
              <input id="lf-q" name="q" type="search" defaultValue={params.q ?? ""} className="mt-1" />
            </div>
            <CustomerSelect id="lf-customer" customers={customers.items} defaultValue={params.customerId} />
            <div>
              <label htmlFor="lf-status">Status</label>
              <select id="lf-status" name="status" defaultValue={params.status ?? ""} className="mt-1">
                <option value="">Any status</option>
                <option value="active">active</option>
                <option value="disabled">disabled</option>
              </select>
            </div>
            <FilterActions clearHref="/staff/logins" />
          </form>
        </Card>
        <ProblemAlert problem={problem} />
        {result ? (
          result.items.length === 0 ? (
            <Empty>No logins{Object.keys(kept).length ? " match this filter" : " yet"}.</Empty>
          ) : (
            <Card>
              <TableWrap label="ODMR logins">
                <table>
                  <thead>
                    <tr>
                      <th>Login</th>
                      <th>Customer</th>
                      <th>Domains</th>
                      <th>Status</th>
                      <th>Last session</th>
                      <th>Last successful AUTH</th>
                    </tr>
                  </thead>
                  <tbody>
                    {result.items.map((l) => (
                      <tr key={l.id}>
                        <td>
                          <Link href={`/staff/logins/${l.id}`} className="font-medium">
                            {l.login}
                          </Link>
                        </td>
                        <td>
                          <Link href={`/staff/customers/${l.customer.id}`}>{l.customer.name}</Link>
                        </td>
                        <td className="break-all">
                          {l.allDomains ? `all of the customer's (${l.customer._count.domains})` : l.domains.map((d) => d.domain.name).join(", ") || "none"}
                        </td>
                        <td>
                          <StateBadge state={l.status} />
                          {l.customer.status !== "active" ? (
                            <>
                              {" "}
                              <Badge tone="amber">customer {l.customer.status}</Badge>
                            </>
                          ) : null}
                        </td>
                        <td>
                          {l.lastSession ? (
                            <span className="flex flex-wrap items-center gap-1">
                              <span className="whitespace-nowrap">{formatTime(l.lastSession.startedAt)}</span>
                              {l.lastSession.authenticated ? <StateBadge state={l.lastSession.result} /> : <Badge tone="red">authentication failed</Badge>}
                            </span>
                          ) : (
                            "never"
                          )}
                        </td>
                        <td className="whitespace-nowrap">{l.lastUsedAt ? `${formatTime(l.lastUsedAt)} from ${l.lastUsedIp ?? "?"}` : "never"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
              <PageLinks page={page} pageSize={PAGE} total={result.total} href={link} />
            </Card>
          )
        ) : null}
      </>
    );
  },
);
