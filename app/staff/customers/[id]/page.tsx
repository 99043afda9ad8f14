import type { Metadata } from "next";
import Link from "next/link";
import { DomainCreateForm } from "../../domains/domain-create-form.tsx";
import { createLoginAction } from "../../logins/actions.ts";
import { createUserAction } from "../../users/actions.ts";
import { deleteCustomerAction, setCustomerStatusAction, updateCustomerAction } from "../actions.ts";
import { withPage, type StaffActor } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { DomainName } from "@/app/_ui/domain-name.tsx";
import { Field } from "@/app/_ui/field.tsx";
import { formatNumber, formatTime } from "@/app/_ui/format.ts";
import { NotificationLog, NotificationSettingsForm } from "@/app/_ui/notification-panels.tsx";
import { Card, Empty, Facts, InboundBadge, PageHeader, StateBadge, TableWrap } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { getConfig } from "@/lib/config/config.ts";
import { getCustomer } from "@/lib/customers/customers.ts";
import { listDomains } from "@/lib/domains/domains.ts";
import { listLogins } from "@/lib/logins/logins.ts";
import { getNotificationSettings, listNotificationDeliveries, listNotifications } from "@/lib/notifications/notification-settings.ts";
import { countHeldByCustomer } from "@/lib/queue/count-held.ts";
import { listPortalUsers } from "@/lib/users/users.ts";

export const metadata: Metadata = { title: "Customer" };

export default withPage("staff", async function CustomerPage(actor, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const customer = await getCustomer(actor, id);
  const [logins, domains, users, held] = await Promise.all([
    listLogins(actor, { customerId: customer.id }),
    listDomains(actor, { customerId: customer.id }),
    listPortalUsers(actor, { customerId: customer.id }),
    countHeldByCustomer(actor, [customer.id]),
  ]);
  const suspended = customer.status === "suspended";
  return (
    <>
      <PageHeader
        title={customer.name}
        crumbs={[{ href: "/staff/customers", label: "Customers" }]}
        description={
          <>
            <StateBadge state={customer.status} /> · {formatNumber(held.get(customer.id) ?? 0)} held deliveries ·{" "}
            <Link href={`/staff/queue?customerId=${customer.id}`}>see in the queue</Link>
          </>
        }
        actions={
          <>
            <ActionForm
              action={setCustomerStatusAction}
              className=""
              confirm={suspended ? undefined : `Suspend ${customer.name}? Their ATRN will be refused and inbound mail deferred.`}
            >
              <input type="hidden" name="id" value={customer.id} />
              <input type="hidden" name="status" value={suspended ? "active" : "suspended"} />
              <SubmitButton variant={suspended ? "primary" : "secondary"}>{suspended ? "Resume" : "Suspend"}</SubmitButton>
            </ActionForm>
            <ActionForm
              action={deleteCustomerAction}
              className=""
              confirm={`Delete ${customer.name} with its domains, logins and users? This cannot be undone.`}
            >
              <input type="hidden" name="id" value={customer.id} />
              <SubmitButton variant="danger">Delete</SubmitButton>
            </ActionForm>
          </>
        }
      />
      {suspended ? (
        <p className="mb-6 rounded-md bg-red-50 px-4 py-3 text-sm text-red-900">
          Suspended: ATRN is refused and inbound mail for this customer’s domains is deferred (450).
        </p>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Details">
          <ActionForm action={updateCustomerAction} label="Customer details">
            <input type="hidden" name="id" value={customer.id} />
            <Field label="Name" name="name" defaultValue={customer.name} required maxLength={200} />
            <Field label="Contact e-mail" name="email" type="email" defaultValue={customer.email ?? ""} />
            <Facts
              items={[
                ["Created", formatTime(customer.createdAt)],
                [
                  "Id",
                  <code key="id" className="text-xs">
                    {customer.id}
                  </code>,
                ],
              ]}
            />
            <SubmitButton>Save</SubmitButton>
          </ActionForm>
        </Card>

        <Card title="ODMR logins">
          {logins.length === 0 ? (
            <Empty>No login yet: the customer’s server cannot collect mail.</Empty>
          ) : (
            <TableWrap label="ODMR logins">
              <table>
                <thead>
                  <tr>
                    <th>Login</th>
                    <th>Status</th>
                    <th>Domains</th>
                    <th>Last used</th>
                  </tr>
                </thead>
                <tbody>
                  {logins.map((l) => (
                    <tr key={l.id}>
                      <td>
                        <Link href={`/staff/logins/${l.id}`} className="font-medium">
                          {l.login}
                        </Link>
                      </td>
                      <td>
                        <StateBadge state={l.status} />
                      </td>
                      <td>{l.allDomains ? "all" : l.domains.map((d) => d.domain.name).join(", ") || "none"}</td>
                      <td>
                        {l.lastUsedAt ? (
                          <>
                            {formatTime(l.lastUsedAt)}
                            <br />
                            <span className="text-xs text-slate-500">{l.lastUsedIp}</span>
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
          <h3 className="mt-5 mb-2 text-sm font-semibold">New login</h3>
          <ActionForm action={createLoginAction} resetOnSuccess label="New login">
            <input type="hidden" name="customerId" value={customer.id} />
            <Field label="Login name" name="login" required maxLength={64} hint="Letters, digits and . _ @ + -; the secret is generated and shown once." />
            <SubmitButton>Create login</SubmitButton>
          </ActionForm>
        </Card>

        <Card title="Domains">
          {domains.length === 0 ? (
            <Empty>No domain yet.</Empty>
          ) : (
            <TableWrap label="Domains">
              <table>
                <thead>
                  <tr>
                    <th>Domain</th>
                    <th>Recipients</th>
                    <th className="text-right">Held</th>
                    <th>Inbound</th>
                  </tr>
                </thead>
                <tbody>
                  {domains.map((d) => (
                    <tr key={d.id}>
                      <td>
                        <Link href={`/staff/domains/${d.id}`} className="font-medium">
                          <DomainName name={d.name} />
                        </Link>
                      </td>
                      <td>{d.recipientPolicy === "accept_all" ? "all accepted" : `${d._count.recipients} listed`}</td>
                      <td className="text-right">{formatNumber(d.held)}</td>
                      <td>
                        <InboundBadge accepting={d.acceptInbound} suspended={suspended} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          <h3 className="mt-5 mb-2 text-sm font-semibold">Add a domain</h3>
          <DomainCreateForm customerId={customer.id} />
        </Card>

        <Card title="Portal users">
          {users.length === 0 ? (
            <Empty>Nobody at this customer can log in to the portal yet.</Empty>
          ) : (
            <ul className="space-y-1 text-sm">
              {users.map((u) => (
                <li key={u.id} className="break-all">
                  {u.email} <span className="text-slate-500">· last login {formatTime(u.lastLoginAt)}</span>
                </li>
              ))}
            </ul>
          )}
          <h3 className="mt-5 mb-2 text-sm font-semibold">New customer user</h3>
          <ActionForm action={createUserAction} resetOnSuccess label="New customer user">
            <input type="hidden" name="role" value="customer" />
            <input type="hidden" name="customerId" value={customer.id} />
            <Field label="E-mail" name="email" type="email" required />
            <SubmitButton>Create user</SubmitButton>
          </ActionForm>
        </Card>

        <NotificationsCard actor={actor} customerId={customer.id} />
      </div>
    </>
  );
});

/** The customer's notification settings and what was sent to it. */
async function NotificationsCard({ actor, customerId }: { actor: StaffActor; customerId: string }) {
  const [settings, notifications, deliveries] = await Promise.all([
    getNotificationSettings(actor, customerId),
    listNotifications(actor, customerId, 20),
    listNotificationDeliveries(actor, customerId, 20),
  ]);
  return (
    <Card title="Notifications">
      <NotificationSettingsForm settings={settings} smarthost={Boolean(getConfig().SMARTHOST)} />
      <div className="mt-5">
        <NotificationLog notifications={notifications} deliveries={deliveries} />
      </div>
    </Card>
  );
}
