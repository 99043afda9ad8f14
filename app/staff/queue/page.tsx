import type { Metadata } from "next";
import { requireStaff } from "@/app/_server/auth.ts";
import { queryParams } from "@/app/_server/load.ts";
import { buttonClass, Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { AGE_FILTERS, QueueTable } from "@/app/_ui/queue-table.tsx";
import { listCustomers } from "@/lib/customers/customers.ts";
import { isMailharborError } from "@/lib/errors.ts";
import { DELIVERY_STATES, searchQueue, type QueuePage } from "@/lib/queue/search-queue.ts";

export const metadata: Metadata = { title: "Queue" };

const FILTERS = ["customerId", "domain", "state", "sender", "q", "age"] as const;

export default async function QueuePageView({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireStaff();
  const params = queryParams(await searchParams);
  const age = params.age ? AGE_FILTERS[params.age] : undefined;
  const customers = await listCustomers(actor, { take: 500 });
  let page: QueuePage | null = null;
  let problem: string | null = null;
  try {
    page = await searchQueue(actor, {
      customerId: params.customerId, domain: params.domain, state: params.state as never, sender: params.sender, q: params.q,
      olderThanHours: age?.olderThanHours, newerThanHours: age?.newerThanHours, before: params.before, after: params.after,
    });
  } catch (error) {
    if (isMailharborError(error, "NOT_FOUND")) problem = `There is no domain "${params.domain}".`;
    else if (isMailharborError(error, "INVALID_INPUT")) problem = error.message;
    else throw error;
  }
  const filters = Object.fromEntries(FILTERS.filter((k) => params[k]).map((k) => [k, params[k]]));
  const pageHref = (cursor: { before?: string; after?: string }) => `/staff/queue?${new URLSearchParams({ ...filters, ...cursor })}`;
  return (
    <>
      <PageHeader title="Queue" description="Messages with a delivery in the chosen state, newest first." />
      <Card className="mb-6">
        <form role="search" aria-label="Filter the queue" action="/staff/queue" className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <div>
            <label htmlFor="qf-customer">Customer</label>
            <select id="qf-customer" name="customerId" defaultValue={params.customerId ?? ""} className="mt-1">
              <option value="">All customers</option>
              {customers.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
          </div>
          <div>
            <label htmlFor="qf-domain">Domain</label>
            <input id="qf-domain" name="domain" defaultValue={params.domain ?? ""} placeholder="example.com" className="mt-1" />
          </div>
          <div>
            <label htmlFor="qf-state">State</label>
            <select id="qf-state" name="state" defaultValue={params.state ?? "held"} className="mt-1">
              <option value="held">Held (queued or being delivered)</option>
              {DELIVERY_STATES.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </div>
          <div>
            <label htmlFor="qf-age">Age</label>
            <select id="qf-age" name="age" defaultValue={params.age ?? ""} className="mt-1">
              <option value="">Any age</option>
              {Object.entries(AGE_FILTERS).map(([value, a]) => <option key={value} value={value}>{a.label}</option>)}
            </select>
          </div>
          <div>
            <label htmlFor="qf-sender">Envelope sender contains</label>
            <input id="qf-sender" name="sender" defaultValue={params.sender ?? ""} className="mt-1" />
          </div>
          <div className="sm:col-span-2">
            <label htmlFor="qf-q">Search sender and subject</label>
            <input id="qf-q" name="q" type="search" defaultValue={params.q ?? ""} className="mt-1" />
          </div>
          <div className="flex items-end gap-2">
            <button type="submit" className={buttonClass.primary}>Filter</button>
            <a href="/staff/queue" className={buttonClass.secondary}>Clear</a>
          </div>
        </form>
      </Card>
      {problem ? <p role="alert" className="mb-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-900">{problem}</p> : null}
      {page ? (
        <Card>
          <QueueTable page={page} staff hrefFor={(id) => `/staff/queue/${id}`} pageHref={pageHref} />
        </Card>
      ) : null}
    </>
  );
}
