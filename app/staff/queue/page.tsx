import type { Metadata } from "next";
import { countBulkQueueFormAction, runBulkQueueFormAction } from "./actions.ts";
import { withPage } from "@/app/_server/auth.ts";
import { orProblem, pickParams, queryParams } from "@/app/_server/load.ts";
import { AGE_FILTERS, QUEUE_FILTER_PARAMS, queueFilterFromParams } from "@/app/_server/queue-filter.ts";
import { QueueBulkActions, type BulkChoice } from "@/app/_ui/bulk-actions.tsx";
import { CustomerSelect } from "@/app/_ui/customer-select.tsx";
import { FilterActions } from "@/app/_ui/filter-actions.tsx";
import { buttonClass, Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { ProblemAlert } from "@/app/_ui/problem-alert.tsx";
import { queueCountText, QueueTable } from "@/app/_ui/queue-table.tsx";
import { listCustomers } from "@/lib/customers/customers.ts";
import { DELIVERY_STATES } from "@/lib/queue/delivery-state.ts";
import { searchQueue } from "@/lib/queue/search-queue.ts";

export const metadata: Metadata = { title: "Queue" };

const BULK: BulkChoice[] = [
  {
    action: "bounce",
    label: "Bounce",
    note: "Their held recipients are bounced now; each sender is told the mail was not delivered. Recipients a session is delivering right now are left alone.",
  },
  {
    action: "release",
    label: "Release",
    note: "Leases of stuck sessions are dropped and the mail is queued again. Only do this when no session is delivering it now, or it may be delivered twice.",
  },
  { action: "delete", label: "Delete", note: "Their held recipients are removed without telling the senders. This cannot be undone.", danger: true },
];

export default withPage(
  "staff",
  async function QueuePageView(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
    const params = queryParams(await searchParams);
    const customers = await listCustomers(actor, { take: 500 });
    const { result: page, problem } = await orProblem(
      searchQueue(actor, {
        ...queueFilterFromParams(params, "staff"),
        before: params.before,
        after: params.after,
      }),
      `There is no domain "${params.domain}".`,
    );
    const filters = pickParams(params, QUEUE_FILTER_PARAMS.staff);
    const pageHref = (cursor: { before?: string; after?: string }) => `/staff/queue?${new URLSearchParams({ ...filters, ...cursor })}`;
    return (
      <>
        <PageHeader title="Queue" description="Messages with a delivery in the chosen state, newest first." />
        <Card className="mb-6">
          <form role="search" aria-label="Filter the queue" action="/staff/queue" className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <CustomerSelect id="qf-customer" customers={customers.items} defaultValue={params.customerId} />
            <div>
              <label htmlFor="qf-domain">Domain</label>
              <input id="qf-domain" name="domain" defaultValue={params.domain ?? ""} placeholder="example.com" className="mt-1" />
            </div>
            <div>
              <label htmlFor="qf-state">State</label>
              <select id="qf-state" name="state" defaultValue={params.state ?? "held"} className="mt-1">
                <option value="held">Held (queued or being delivered)</option>
                {DELIVERY_STATES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="qf-age">Age</label>
              <select id="qf-age" name="age" defaultValue={params.age ?? ""} className="mt-1">
                <option value="">Any age</option>
                {Object.entries(AGE_FILTERS).map(([value, a]) => (
                  <option key={value} value={value}>
                    {a.label}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="qf-recipient">Recipient contains</label>
              <input
                id="qf-recipient"
                name="recipient"
                type="search"
                defaultValue={params.recipient ?? ""}
                placeholder="sales@ or part of an address"
                className="mt-1"
              />
            </div>
            <div>
              <label htmlFor="qf-sender">Envelope sender contains</label>
              <input id="qf-sender" name="sender" defaultValue={params.sender ?? ""} className="mt-1" />
            </div>
            <div className="sm:col-span-2">
              <label htmlFor="qf-q">Search sender and subject</label>
              <input id="qf-q" name="q" type="search" defaultValue={params.q ?? ""} className="mt-1" />
            </div>
            <FilterActions clearHref="/staff/queue" />
          </form>
        </Card>
        <ProblemAlert problem={problem} />
        {page ? (
          <Card>
            <div className="mb-4 flex flex-wrap items-start justify-between gap-3">
              <QueueBulkActions
                formId="queue-bulk"
                filter={filters}
                matching={queueCountText(page)}
                choices={BULK}
                count={countBulkQueueFormAction}
                run={runBulkQueueFormAction}
              />
              <a href={`/staff/queue/export.csv?${new URLSearchParams(filters)}`} className={buttonClass.secondary} download>
                Export CSV
              </a>
            </div>
            <QueueTable page={page} staff selectForm="queue-bulk" hrefFor={(id) => `/staff/queue/${id}`} pageHref={pageHref} />
          </Card>
        ) : null}
      </>
    );
  },
);
