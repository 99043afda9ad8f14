import type { Metadata } from "next";
import Link from "next/link";
import { createCustomerAction } from "./actions.ts";
import { withPage } from "@/app/_server/auth.ts";
import { queryParams } from "@/app/_server/load.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { Field } from "@/app/_ui/field.tsx";
import { formatNumber } from "@/app/_ui/format.ts";
import { buttonClass, Card, Empty, PageHeader, StateBadge, TableWrap } from "@/app/_ui/page-header.tsx";
import { PageLinks } from "@/app/_ui/page-links.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { listCustomers } from "@/lib/customers/customers.ts";
import { countHeldByCustomer } from "@/lib/queue/count-held.ts";

export const metadata: Metadata = { title: "Customers" };

const PAGE = 50;

export default withPage(
  "staff",
  async function CustomersPage(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
    const params = queryParams(await searchParams);
    const page = Math.max(1, Number.parseInt(params.page ?? "1", 10) || 1);
    const { total, items } = await listCustomers(actor, { search: params.q, take: PAGE, skip: (page - 1) * PAGE });
    const held = await countHeldByCustomer(
      actor,
      items.map((c) => c.id),
    );
    const link = (p: number) => `/staff/customers?${new URLSearchParams({ ...(params.q ? { q: params.q } : {}), page: String(p) })}`;
    return (
      <>
        <PageHeader title="Customers" description={`${formatNumber(total)} customer${total === 1 ? "" : "s"}`} />
        <div className="grid gap-6 lg:grid-cols-[1fr_20rem]">
          <div className="space-y-4">
            <form role="search" className="flex flex-wrap items-end gap-2" action="/staff/customers">
              <div className="min-w-48 flex-1">
                <label htmlFor="customer-search">Search by name or e-mail</label>
                <input id="customer-search" name="q" type="search" defaultValue={params.q ?? ""} className="mt-1" />
              </div>
              <button type="submit" className={buttonClass.secondary}>
                Search
              </button>
            </form>
            {items.length === 0 ? (
              <Empty>No customers{params.q ? " match this search" : " yet"}.</Empty>
            ) : (
              <Card>
                <TableWrap label="Customers">
                  <table>
                    <thead>
                      <tr>
                        <th>Name</th>
                        <th>Contact</th>
                        <th>Status</th>
                        <th className="text-right">Domains</th>
                        <th className="text-right">Logins</th>
                        <th className="text-right">Held</th>
                      </tr>
                    </thead>
                    <tbody>
                      {items.map((c) => (
                        <tr key={c.id}>
                          <td>
                            <Link href={`/staff/customers/${c.id}`} className="font-medium">
                              {c.name}
                            </Link>
                          </td>
                          <td className="break-all">{c.email ?? "—"}</td>
                          <td>
                            <StateBadge state={c.status} />
                          </td>
                          <td className="text-right">{c._count.domains}</td>
                          <td className="text-right">{c._count.logins}</td>
                          <td className="text-right">{formatNumber(held.get(c.id) ?? 0)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableWrap>
                <PageLinks page={page} pageSize={PAGE} total={total} href={link} />
              </Card>
            )}
          </div>
          <Card title="New customer">
            <ActionForm action={createCustomerAction} label="New customer">
              <Field label="Name" name="name" required maxLength={200} />
              <Field label="Contact e-mail" name="email" type="email" hint="Optional." />
              <SubmitButton>Create customer</SubmitButton>
            </ActionForm>
          </Card>
        </div>
      </>
    );
  },
);
