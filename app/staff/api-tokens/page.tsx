import type { Metadata } from "next";
import Link from "next/link";
import { createApiTokenAction, revokeApiTokenAction } from "./actions.ts";
import { withPage } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { Checkbox, Field, Select } from "@/app/_ui/field.tsx";
import { formatTime } from "@/app/_ui/format.ts";
import { Badge, Card, Empty, PageHeader, TableWrap } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { listApiTokens } from "@/lib/api-tokens/api-tokens.ts";
import { listCustomers } from "@/lib/customers/customers.ts";

export const metadata: Metadata = { title: "API tokens" };

const SCOPE_HINTS = {
  read: "every GET: customers, logins, domains, recipients, queue, sessions",
  provision: "create and change customers, logins, domains and recipients",
  queue: "deliver now (ETRN release)",
} as const;

export default withPage("staff", async function ApiTokensPage(actor) {
  const [tokens, customers] = await Promise.all([listApiTokens(actor), listCustomers(actor, { take: 500 })]);
  return (
    <>
      <PageHeader
        title="API tokens"
        description={
          <>
            Bearer tokens for the HTTP API under <code>/api/v1</code> (<a href="/api/v1/openapi.json">OpenAPI document</a>). Every call is in the audit log
            under the token&apos;s name.
          </>
        }
      />
      <div className="grid gap-6 lg:grid-cols-[1fr_20rem]">
        <Card>
          {tokens.length ? (
            <TableWrap label="API tokens">
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Token</th>
                    <th>Scopes</th>
                    <th>Customer</th>
                    <th>Created</th>
                    <th>Last used</th>
                    <th>
                      <span className="sr-only">Revoke</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {tokens.map((t) => (
                    <tr key={t.id}>
                      <td className="font-medium break-words">
                        {t.name}
                        {t.revokedAt ? (
                          <>
                            {" "}
                            <Badge tone="red">revoked</Badge>
                          </>
                        ) : null}
                      </td>
                      <td className="whitespace-nowrap">
                        <code>{t.prefix}…</code>
                      </td>
                      <td>
                        <span className="flex flex-wrap gap-1">
                          {t.scopes.map((s) => (
                            <Badge key={s} tone="sky">
                              {s}
                            </Badge>
                          ))}
                        </span>
                      </td>
                      <td>{t.customer ? <Link href={`/staff/customers/${t.customer.id}`}>{t.customer.name}</Link> : "all customers"}</td>
                      <td>
                        {formatTime(t.createdAt)} <span className="text-slate-500">by {t.createdBy}</span>
                      </td>
                      <td>{formatTime(t.lastUsedAt)}</td>
                      <td className="text-right">
                        {t.revokedAt ? (
                          <span className="text-sm text-slate-500">{formatTime(t.revokedAt)}</span>
                        ) : (
                          <ActionForm
                            action={revokeApiTokenAction}
                            className=""
                            confirm={`Revoke ${t.name}? Calls with it fail at once; this cannot be undone.`}
                          >
                            <input type="hidden" name="id" value={t.id} />
                            <button type="submit" className="text-sm text-red-700 hover:underline" aria-label={`Revoke ${t.name}`}>
                              Revoke
                            </button>
                          </ActionForm>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          ) : (
            <Empty>No API tokens yet.</Empty>
          )}
        </Card>
        <Card title="New token">
          <ActionForm action={createApiTokenAction} resetOnSuccess label="New API token">
            <Field label="Name" name="name" required maxLength={64} hint="Shown in the audit log, e.g. billing. Names are never reused." />
            <fieldset className="space-y-2">
              <legend className="text-sm font-medium">Scopes</legend>
              {Object.entries(SCOPE_HINTS).map(([scope, hint]) => (
                <Checkbox key={scope} label={scope} name={`scope-${scope}`} hint={hint} defaultChecked={scope === "read"} />
              ))}
            </fieldset>
            <Select
              label="Customer"
              name="customerId"
              hint="A customer's token reaches only that customer's objects, and may do only what its own portal users may."
              options={[{ value: "", label: "— all customers (ISP) —" }, ...customers.items.map((c) => ({ value: c.id, label: c.name }))]}
            />
            <SubmitButton>Create token</SubmitButton>
          </ActionForm>
        </Card>
      </div>
    </>
  );
});
