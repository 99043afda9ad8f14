import type { Metadata } from "next";
import Link from "next/link";
import { withPage } from "@/app/_server/auth.ts";
import { orProblem, queryParams } from "@/app/_server/load.ts";
import { CustomerSelect } from "@/app/_ui/customer-select.tsx";
import { FilterActions } from "@/app/_ui/filter-actions.tsx";
import { Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { ProblemAlert } from "@/app/_ui/problem-alert.tsx";
import { SessionsTable } from "@/app/_ui/sessions-table.tsx";
import { listCustomers } from "@/lib/customers/customers.ts";
import { listSessions, SESSION_RESULTS } from "@/lib/sessions/list-sessions.ts";

export const metadata: Metadata = { title: "Sessions" };

export default withPage(
  "staff",
  async function StaffSessionsPage(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
    const params = queryParams(await searchParams);
    const customers = await listCustomers(actor, { take: 500 });
    const filter = { customerId: params.customerId, loginId: params.loginId, result: params.result as never, kind: params.kind as never };
    const { result: sessions, problem } = await orProblem(listSessions(actor, { ...filter, before: params.before }));
    const kept = Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) as Record<string, string>;
    return (
      <>
        <PageHeader title="ODMR sessions" description="Every ATRN/ETRN session and how it ended, newest first." />
        <Card className="mb-6">
          <form role="search" aria-label="Filter sessions" action="/staff/sessions" className="grid grid-cols-1 gap-3 sm:grid-cols-4">
            {params.loginId ? <input type="hidden" name="loginId" value={params.loginId} /> : null}
            <CustomerSelect id="sf-customer" customers={customers.items} defaultValue={params.customerId} />
            <div>
              <label htmlFor="sf-result">Result</label>
              <select id="sf-result" name="result" defaultValue={params.result ?? ""} className="mt-1">
                <option value="">Any result</option>
                {SESSION_RESULTS.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="sf-kind">Kind</label>
              <select id="sf-kind" name="kind" defaultValue={params.kind ?? ""} className="mt-1">
                <option value="">ATRN and ETRN</option>
                <option value="atrn">ATRN sessions</option>
                <option value="etrn">ETRN runs</option>
              </select>
            </div>
            <FilterActions clearHref="/staff/sessions" />
          </form>
        </Card>
        <ProblemAlert problem={problem} />
        {sessions ? (
          <Card>
            <SessionsTable sessions={sessions.items} staff />
            {sessions.nextCursor ? (
              <p className="mt-4 text-right text-sm">
                <Link href={`/staff/sessions?${new URLSearchParams({ ...kept, before: sessions.nextCursor })}`}>Older →</Link>
              </p>
            ) : null}
          </Card>
        ) : null}
      </>
    );
  },
);
