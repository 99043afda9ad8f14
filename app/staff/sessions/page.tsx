import type { Metadata } from "next";
import Link from "next/link";
import { requireStaff } from "@/app/_server/auth.ts";
import { queryParams } from "@/app/_server/load.ts";
import { buttonClass, Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { SessionsTable } from "@/app/_ui/sessions-table.tsx";
import { listCustomers } from "@/lib/customers/customers.ts";
import { isMailharborError } from "@/lib/errors.ts";
import { listSessions, SESSION_RESULTS } from "@/lib/sessions/list-sessions.ts";

export const metadata: Metadata = { title: "Sessions" };

export default async function StaffSessionsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireStaff();
  const params = queryParams(await searchParams);
  const customers = await listCustomers(actor, { take: 500 });
  const filter = { customerId: params.customerId, loginId: params.loginId, result: params.result as never, kind: params.kind as never };
  let sessions: Awaited<ReturnType<typeof listSessions>> | null = null;
  let problem: string | null = null;
  try {
    sessions = await listSessions(actor, { ...filter, before: params.before });
  } catch (error) {
    if (!isMailharborError(error, "INVALID_INPUT")) throw error;
    problem = error.message;
  }
  const kept = Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) as Record<string, string>;
  return (
    <>
      <PageHeader title="ODMR sessions" description="Every ATRN/ETRN session and how it ended, newest first." />
      <Card className="mb-6">
        <form role="search" aria-label="Filter sessions" action="/staff/sessions" className="grid grid-cols-1 gap-3 sm:grid-cols-4">
          {params.loginId ? <input type="hidden" name="loginId" value={params.loginId} /> : null}
          <div>
            <label htmlFor="sf-customer">Customer</label>
            <select id="sf-customer" name="customerId" defaultValue={params.customerId ?? ""} className="mt-1">
              <option value="">All customers</option>
              {customers.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
          </div>
          <div>
            <label htmlFor="sf-result">Result</label>
            <select id="sf-result" name="result" defaultValue={params.result ?? ""} className="mt-1">
              <option value="">Any result</option>
              {SESSION_RESULTS.map((r) => <option key={r} value={r}>{r}</option>)}
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
          <div className="flex items-end gap-2">
            <button type="submit" className={buttonClass.primary}>Filter</button>
            <a href="/staff/sessions" className={buttonClass.secondary}>Clear</a>
          </div>
        </form>
      </Card>
      {problem ? <p role="alert" className="mb-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-900">{problem}</p> : null}
      {sessions ? (
        <Card>
          <SessionsTable sessions={sessions.items} staff />
          {sessions.nextCursor ? (
            <p className="mt-4 text-right text-sm"><Link href={`/staff/sessions?${new URLSearchParams({ ...kept, before: sessions.nextCursor })}`}>Older →</Link></p>
          ) : null}
        </Card>
      ) : null}
    </>
  );
}
