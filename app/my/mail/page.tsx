import type { Metadata } from "next";
import { countBulkMailFormAction, runBulkMailFormAction } from "./actions.ts";
import { withPage } from "@/app/_server/auth.ts";
import { pickParams, queryParams } from "@/app/_server/load.ts";
import { QUEUE_FILTER_PARAMS, queueFilterFromParams } from "@/app/_server/queue-filter.ts";
import { QueueBulkActions, type BulkChoice } from "@/app/_ui/bulk-actions.tsx";
import { buttonClass, Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { queueCountText, QueueTable } from "@/app/_ui/queue-table.tsx";
import { listDomains } from "@/lib/domains/domains.ts";
import { searchQueue } from "@/lib/queue/search-queue.ts";

export const metadata: Metadata = { title: "Held mail" };

const BULK: BulkChoice[] = [
  {
    action: "bounce",
    label: "Bounce",
    note: "They are returned now; each sender is told the mail was not delivered. Mail your server is collecting right now is left alone.",
  },
  {
    action: "release",
    label: "Release",
    note: "Mail a broken session left claimed is queued again for your next ATRN. Only when no session of yours is collecting now, or it may arrive twice.",
  },
  { action: "delete", label: "Delete", note: "They are removed without telling the senders. This cannot be undone.", danger: true },
];

export default withPage(
  "customer",
  async function HeldMailPage(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
    const params = queryParams(await searchParams);
    const [domains, page] = await Promise.all([
      listDomains(actor, { heldCounts: false }),
      // another customer's domain id is "not found" (withPage), like one that does not exist
      searchQueue(actor, { ...queueFilterFromParams(params, "customer"), before: params.before, after: params.after }),
    ]);
    const filters = pickParams(params, QUEUE_FILTER_PARAMS.customer);
    return (
      <>
        <PageHeader title="Held mail" description="Mail waiting for your server to collect it with ATRN, newest first." />
        <Card className="mb-6">
          <form role="search" aria-label="Filter held mail" action="/my/mail" className="grid grid-cols-1 gap-3 sm:grid-cols-[1fr_1fr_2fr_auto]">
            <div>
              <label htmlFor="mf-domain">Domain</label>
              <select id="mf-domain" name="domain" defaultValue={params.domain ?? ""} className="mt-1">
                <option value="">All your domains</option>
                {domains.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="mf-recipient">Recipient contains</label>
              <input id="mf-recipient" name="recipient" type="search" defaultValue={params.recipient ?? ""} placeholder="sales@" className="mt-1" />
            </div>
            <div>
              <label htmlFor="mf-q">Search sender and subject</label>
              <input id="mf-q" name="q" type="search" defaultValue={params.q ?? ""} className="mt-1" />
            </div>
            <div className="flex items-end">
              <button type="submit" className={buttonClass.primary}>
                Filter
              </button>
            </div>
          </form>
        </Card>
        <Card>
          <div className="mb-4 flex flex-wrap items-start justify-between gap-3">
            <QueueBulkActions
              formId="mail-bulk"
              filter={filters}
              matching={queueCountText(page)}
              choices={BULK}
              count={countBulkMailFormAction}
              run={runBulkMailFormAction}
            />
            <a href={`/my/mail/export.csv?${new URLSearchParams(filters)}`} className={buttonClass.secondary} download>
              Export CSV
            </a>
          </div>
          <QueueTable
            page={page}
            staff={false}
            selectForm="mail-bulk"
            hrefFor={(id) => `/my/mail/${id}`}
            pageHref={(cursor) => `/my/mail?${new URLSearchParams({ ...filters, ...cursor })}`}
          />
        </Card>
      </>
    );
  },
);
