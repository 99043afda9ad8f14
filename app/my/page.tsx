import type { Metadata } from "next";
import Link from "next/link";
import { releaseDomainAction } from "@/app/_actions/release-domain.ts";
import { withPage } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { BounceHoldPanel } from "@/app/_ui/bounce-hold-panel.tsx";
import { DomainName } from "@/app/_ui/domain-name.tsx";
import { formatNumber, formatTime } from "@/app/_ui/format.ts";
import { Badge, Card, Empty, InboundBadge, PageHeader, StateBadge, TableWrap } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { getCustomer } from "@/lib/customers/customers.ts";
import { listDomains } from "@/lib/domains/domains.ts";
import { etrnReady } from "@/lib/etrn/etrn-ready.ts";
import { listLogins } from "@/lib/logins/logins.ts";

export const metadata: Metadata = { title: "Overview" };

export default withPage("customer", async function CustomerHome(actor) {
  const [customer, domains, logins] = await Promise.all([getCustomer(actor, actor.customerId), listDomains(actor), listLogins(actor)]);
  const held = domains.reduce((sum, d) => sum + d.held, 0);
  return (
    <>
      <PageHeader
        title={customer.name}
        description={
          <>
            <Link href="/my/mail">{formatNumber(held)} held deliveries</Link> waiting for your server to collect them.
          </>
        }
      />
      {customer.status === "suspended" ? (
        <p className="mb-6 rounded-md bg-red-50 px-4 py-3 text-sm text-red-900">
          Your service is suspended: collection is refused and new mail is deferred. Please contact your provider.
        </p>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Your domains">
          {domains.length === 0 ? (
            <Empty>No domains yet.</Empty>
          ) : (
            <TableWrap label="Your domains">
              <table>
                <thead>
                  <tr>
                    <th>Domain</th>
                    <th className="text-right">Held</th>
                    <th>Kept for</th>
                    <th>Inbound</th>
                    <th>Bounce protection</th>
                    <th>ETRN</th>
                  </tr>
                </thead>
                <tbody>
                  {domains.map((d) => (
                    <tr key={d.id}>
                      <td className="font-medium">
                        <DomainName name={d.name} />
                      </td>
                      <td className="text-right">
                        <Link href={`/my/mail?domain=${d.id}`}>{formatNumber(d.held)}</Link>
                      </td>
                      <td>{d.retentionDays} days</td>
                      <td>
                        <InboundBadge accepting={d.acceptInbound} suspended={customer.status === "suspended"} />
                      </td>
                      <td>
                        {d.bounceProtectionPercent === null ? "off" : `over ${d.bounceProtectionPercent} % refused`}
                        {d.bounceHeldAt ? (
                          <>
                            {" "}
                            · <Badge tone="amber">held</Badge>
                          </>
                        ) : null}
                      </td>
                      <td>
                        {etrnReady(d) ? (
                          <ActionForm action={releaseDomainAction} label={`Deliver ${d.name} now`}>
                            <input type="hidden" name="id" value={d.id} />
                            <SubmitButton variant="secondary">Deliver now</SubmitButton>
                          </ActionForm>
                        ) : (
                          "—"
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          <div className="mt-4 space-y-4">
            {domains.map((d) => (
              <BounceHoldPanel key={d.id} domain={d} />
            ))}
          </div>
        </Card>
        <Card title="Your ODMR logins">
          {logins.length === 0 ? (
            <Empty>No login yet; ask your provider for one.</Empty>
          ) : (
            <TableWrap label="Your ODMR logins">
              <table>
                <thead>
                  <tr>
                    <th>Login</th>
                    <th>Status</th>
                    <th>Last used</th>
                  </tr>
                </thead>
                <tbody>
                  {logins.map((l) => (
                    <tr key={l.id}>
                      <td>
                        <Link href={`/my/logins/${l.id}`} className="font-medium">
                          {l.login}
                        </Link>
                      </td>
                      <td>
                        <StateBadge state={l.status} />
                      </td>
                      <td>
                        {l.lastUsedAt ? (
                          <>
                            {formatTime(l.lastUsedAt)}
                            <div className="text-xs text-slate-500">from {l.lastUsedIp}</div>
                          </>
                        ) : (
                          "never"
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Card>
      </div>
    </>
  );
});
