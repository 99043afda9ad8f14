import type { Metadata } from "next";
import Link from "next/link";
import { DomainCreateForm } from "./domain-create-form.tsx";
import { withPage } from "@/app/_server/auth.ts";
import { queryParams } from "@/app/_server/load.ts";
import { CustomerSelect } from "@/app/_ui/customer-select.tsx";
import { DomainName } from "@/app/_ui/domain-name.tsx";
import { formatNumber } from "@/app/_ui/format.ts";
import { buttonClass, Card, Empty, InboundBadge, PageHeader, TableWrap } from "@/app/_ui/page-header.tsx";
import { listCustomers } from "@/lib/customers/customers.ts";
import { listDomains } from "@/lib/domains/domains.ts";
import { uuidSchema } from "@/lib/validation/schemas.ts";

export const metadata: Metadata = { title: "Domains" };

export default withPage("staff", async function DomainsPage(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = queryParams(await searchParams);
  const customerId = uuidSchema.safeParse(params.customerId).success ? params.customerId : undefined;
  const [domains, customers] = await Promise.all([listDomains(actor, { customerId }), listCustomers(actor, { take: 500 })]);
  const q = params.q?.toLowerCase();
  const shown = q ? domains.filter((d) => d.name.includes(q)) : domains;
  return (
    <>
      <PageHeader title="Domains" description={`${formatNumber(shown.length)} domain${shown.length === 1 ? "" : "s"}`} />
      <div className="grid gap-6 lg:grid-cols-[1fr_20rem]">
        <div className="space-y-4">
          <form role="search" className="flex flex-wrap items-end gap-2" action="/staff/domains">
            <div className="min-w-40 flex-1">
              <label htmlFor="domain-search">Domain contains</label>
              <input id="domain-search" name="q" type="search" defaultValue={params.q ?? ""} className="mt-1" />
            </div>
            <CustomerSelect id="domain-customer" customers={customers.items} defaultValue={customerId} className="min-w-40 flex-1" />
            <button type="submit" className={buttonClass.secondary}>
              Filter
            </button>
          </form>
          {shown.length === 0 ? (
            <Empty>No domains found.</Empty>
          ) : (
            <Card>
              <TableWrap label="Domains">
                <table>
                  <thead>
                    <tr>
                      <th>Domain</th>
                      <th>Customer</th>
                      <th>Recipients</th>
                      <th>Retention</th>
                      <th className="text-right">Held</th>
                      <th>Inbound</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((d) => (
                      <tr key={d.id}>
                        <td>
                          <Link href={`/staff/domains/${d.id}`} className="font-medium">
                            <DomainName name={d.name} />
                          </Link>
                        </td>
                        <td>
                          <Link href={`/staff/customers/${d.customer.id}`}>{d.customer.name}</Link>
                        </td>
                        <td>{d.recipientPolicy === "accept_all" ? "all accepted" : `${formatNumber(d._count.recipients)} listed`}</td>
                        <td>{d.retentionDays} d</td>
                        <td className="text-right">
                          <Link href={`/staff/queue?domain=${d.id}`}>{formatNumber(d.held)}</Link>
                        </td>
                        <td>
                          <InboundBadge accepting={d.acceptInbound} suspended={d.customer.status === "suspended"} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </Card>
          )}
        </div>
        <Card title="Add a domain">
          <DomainCreateForm customers={customers.items} />
        </Card>
      </div>
    </>
  );
});
