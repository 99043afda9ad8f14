import type { Metadata } from "next";
import Link from "next/link";
import { addRecipientsAction, deleteDomainAction, removeRecipientAction, removeRecipientsAction, updateDomainAction } from "../actions.ts";
import { releaseDomainAction } from "@/app/_actions/release-domain.ts";
import { withPage } from "@/app/_server/auth.ts";
import { queryParams } from "@/app/_server/load.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { BounceHoldPanel } from "@/app/_ui/bounce-hold-panel.tsx";
import { RecipientBulkRemove, SelectAll } from "@/app/_ui/bulk-actions.tsx";
import { Checkbox, Field, Select, TextArea } from "@/app/_ui/field.tsx";
import { formatNumber, formatTime } from "@/app/_ui/format.ts";
import { Badge, buttonClass, Card, Empty, Facts, PageHeader, TableWrap } from "@/app/_ui/page-header.tsx";
import { SessionsTable } from "@/app/_ui/sessions-table.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { getDomain, listDomains } from "@/lib/domains/domains.ts";
import { etrnConfigured, etrnReady } from "@/lib/etrn/etrn-ready.ts";
import { listRecipients } from "@/lib/recipients/recipients.ts";
import { listSessions } from "@/lib/sessions/list-sessions.ts";
import { unicodeDomainName } from "@/lib/validation/domain-name.ts";

export const metadata: Metadata = { title: "Domain" };

/** Long lists are searched rather than shown whole. */
const SHOWN = 200;

export default withPage(
  "staff",
  async function DomainPage(
    actor,
    {
      params,
      searchParams,
    }: {
      params: Promise<{ id: string }>;
      searchParams: Promise<Record<string, string | string[] | undefined>>;
    },
  ) {
    const { id } = await params;
    const query = queryParams(await searchParams);
    const domain = await getDomain(actor, id);
    const [recipients, siblings, runs] = await Promise.all([
      listRecipients(actor, domain.id),
      listDomains(actor, { customerId: domain.customerId }),
      listSessions(actor, { customerId: domain.customerId, domain: domain.name, kind: "etrn", limit: 5 }),
    ]);
    const releasable = etrnReady(domain);
    const held = siblings.find((d) => d.id === domain.id)?.held ?? 0;
    const q = query.q?.toLowerCase();
    const matching = q ? recipients.filter((r) => r.address.includes(q)) : recipients;
    const unicode = unicodeDomainName(domain.name);
    return (
      <>
        <PageHeader
          title={unicode}
          crumbs={[
            { href: "/staff/customers", label: "Customers" },
            { href: `/staff/customers/${domain.customer.id}`, label: domain.customer.name },
          ]}
          description={
            <>
              {unicode !== domain.name ? (
                <>
                  A-label <code data-testid="a-label">{domain.name}</code> ·{" "}
                </>
              ) : null}
              Customer <Link href={`/staff/customers/${domain.customer.id}`}>{domain.customer.name}</Link> ·{" "}
              <Link href={`/staff/queue?domain=${domain.id}`}>{formatNumber(held)} held deliveries</Link>
              {domain.customer.status === "suspended" ? (
                <>
                  {" "}
                  · <Badge tone="red">deferred: customer suspended</Badge>
                </>
              ) : null}
            </>
          }
          actions={
            <ActionForm action={deleteDomainAction} className="" confirm={`Delete ${domain.name} and its recipient list? Only possible when no mail is held.`}>
              <input type="hidden" name="id" value={domain.id} />
              <SubmitButton variant="danger">Delete domain</SubmitButton>
            </ActionForm>
          }
        />
        <div className="mb-6">
          <BounceHoldPanel domain={domain} />
        </div>
        <div className="grid gap-6 lg:grid-cols-2">
          <Card title="Settings">
            <ActionForm action={updateDomainAction} label="Domain settings">
              <input type="hidden" name="id" value={domain.id} />
              <Select
                label="Recipients"
                name="recipientPolicy"
                defaultValue={domain.recipientPolicy}
                options={[
                  { value: "listed", label: "Listed recipients only (others get 550 5.1.1)" },
                  { value: "accept_all", label: "Accept every address" },
                ]}
              />
              <Field
                label="Recipient delimiter"
                name="recipientDelimiter"
                defaultValue={domain.recipientDelimiter}
                maxLength={5}
                placeholder="none"
                hint="Characters from + - _ = . that start an address extension: with +, joe+news@ is accepted for a listed joe@ (kept as sent). Empty: off."
              />
              <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
                <Field
                  label="Retention (days)"
                  name="retentionDays"
                  type="number"
                  min={1}
                  max={3650}
                  defaultValue={domain.retentionDays}
                  required
                  hint="Held mail older than this is returned to its sender."
                />
                <Field
                  label="Size limit (MB)"
                  name="maxMessageSizeMb"
                  type="number"
                  min={0.001}
                  max={512}
                  step="any"
                  defaultValue={Math.round((domain.maxMessageSize / 1048576) * 1000) / 1000}
                  required
                />
              </div>
              <Checkbox
                label="Accept inbound mail"
                name="acceptInbound"
                defaultChecked={domain.acceptInbound}
                hint="Off: the MX defers mail for this domain with 450 (held at the sender)."
              />
              <fieldset className="space-y-3 rounded-md border border-slate-200 p-3">
                <legend className="px-1 text-sm font-semibold">Release</legend>
                <Checkbox label="ATRN (ODMR) enabled" name="atrnEnabled" defaultChecked={domain.atrnEnabled} />
                <Checkbox
                  label="ETRN enabled"
                  name="etrnEnabled"
                  defaultChecked={domain.etrnEnabled}
                  hint="On ETRN, held mail is sent over a new connection to the target below (RFC 1985)."
                />
                <Field label="ETRN target (host:port)" name="etrnTarget" defaultValue={domain.etrnTarget ?? ""} placeholder="mail.customer.example:25" />
                <Select
                  label="ETRN TLS"
                  name="etrnTls"
                  defaultValue={domain.etrnTls}
                  options={[
                    { value: "opportunistic", label: "Opportunistic (STARTTLS when offered)" },
                    { value: "required", label: "Required" },
                    { value: "none", label: "None" },
                  ]}
                />
                <TextArea
                  label="Networks allowed to ETRN without AUTH"
                  name="etrnFrom"
                  rows={2}
                  defaultValue={domain.etrnFrom.join("\n")}
                  hint="IP addresses or CIDR networks, one per line."
                />
              </fieldset>
              <Field
                label="Bounce protection (%)"
                name="bounceProtection"
                type="number"
                min={1}
                max={99}
                defaultValue={domain.bounceProtectionPercent ?? ""}
                hint="Hold instead of bounce when the customer's server refuses more than this share of a collection's recipients (at least 5 offered). Empty: off."
              />
              <p className="text-xs text-slate-500">Last changed {formatTime(domain.updatedAt)}.</p>
              <SubmitButton>Save settings</SubmitButton>
            </ActionForm>
          </Card>

          <div className="space-y-6">
            <Card title="ETRN delivery">
              <Facts
                items={[
                  [
                    "Release by",
                    <>
                      {domain.atrnEnabled ? <Badge tone="green">ATRN</Badge> : null} {domain.etrnEnabled ? <Badge tone="green">ETRN</Badge> : null}
                      {!domain.atrnEnabled && !domain.etrnEnabled ? "nothing (mail is only held)" : null}
                    </>,
                  ],
                  ["Target", domain.etrnTarget ? <span className="font-mono">{domain.etrnTarget}</span> : "—"],
                  ["TLS", domain.etrnTls],
                  ["Without AUTH from", domain.etrnFrom.length ? domain.etrnFrom.join(", ") : "—"],
                  ...(domain.etrnRequestedAt
                    ? [["Requested", `${formatTime(domain.etrnRequestedAt)} by ${domain.etrnRequestedBy ?? "?"}, waiting for the mailer`] as [string, string]]
                    : []),
                ]}
              />
              <ActionForm action={releaseDomainAction} className="mt-4 space-y-3" label="Deliver now">
                <input type="hidden" name="id" value={domain.id} />
                <p className="text-sm text-slate-600">
                  {releasable
                    ? "Sends the held mail to the target now, over a new connection, as an ETRN from the customer would. The target is read when the run starts."
                    : etrnConfigured(domain)
                      ? "The customer is suspended: its mail is not released."
                      : "Enable ETRN and give a target in the settings to deliver from here."}
                </p>
                {releasable ? <SubmitButton variant="secondary">Deliver now</SubmitButton> : null}
              </ActionForm>
              <h3 className="mt-6 mb-2 text-sm font-semibold">Recent ETRN runs</h3>
              <SessionsTable sessions={runs.items} staff />
            </Card>

            <Card title="Add recipients">
              <ActionForm action={addRecipientsAction} label="Add recipients" resetOnSuccess>
                <input type="hidden" name="id" value={domain.id} />
                <TextArea
                  label="Addresses"
                  name="recipients"
                  rows={5}
                  hint={`One per line: an address, Name <address>, or a bare local part (@${domain.name}); or CSV with the address in any column (a header row is skipped).`}
                />
                <div>
                  <label htmlFor="recipient-file">Or upload a file (CSV or text)</label>
                  <input id="recipient-file" name="file" type="file" accept=".csv,.txt,text/csv,text/plain" className="mt-1 block" />
                </div>
                <SubmitButton>Add recipients</SubmitButton>
              </ActionForm>
            </Card>

            <Card title={`Listed recipients (${formatNumber(recipients.length)})`}>
              {domain.recipientPolicy === "accept_all" ? (
                <p className="mb-3 text-sm text-amber-800">This domain accepts every address; the list is kept but not enforced.</p>
              ) : null}
              <div className="mb-3 flex flex-wrap items-end gap-2">
                <form role="search" className="flex flex-1 items-end gap-2" action={`/staff/domains/${domain.id}`}>
                  <div className="flex-1">
                    <label htmlFor="recipient-search">Find an address</label>
                    <input id="recipient-search" name="q" type="search" defaultValue={query.q ?? ""} className="mt-1" />
                  </div>
                  <button type="submit" className={buttonClass.secondary}>
                    Find
                  </button>
                </form>
                <a href={`/staff/domains/${domain.id}/recipients.csv`} className={buttonClass.secondary} download>
                  Export CSV
                </a>
              </div>
              {matching.length === 0 ? (
                <Empty>{q ? "No address matches." : "No recipients listed."}</Empty>
              ) : (
                <>
                  <div className="mb-2">
                    <RecipientBulkRemove formId="recipients-remove" domainId={domain.id} action={removeRecipientsAction} />
                  </div>
                  <TableWrap label="Listed recipients">
                    <table>
                      <thead>
                        <tr>
                          <th className="w-8">
                            <SelectAll form="recipients-remove" name="addresses" label="Select every address shown" />
                          </th>
                          <th>Address</th>
                          <th className="sr-only">Remove</th>
                        </tr>
                      </thead>
                      <tbody>
                        {matching.slice(0, SHOWN).map((r) => (
                          <tr key={r.id}>
                            <td className="w-8">
                              <input type="checkbox" form="recipients-remove" name="addresses" value={r.address} aria-label={`Select ${r.address}`} />
                            </td>
                            <td className="break-all">{r.address}</td>
                            <td className="w-24 text-right">
                              <ActionForm action={removeRecipientAction} className="" label={`Remove ${r.address}`}>
                                <input type="hidden" name="id" value={domain.id} />
                                <input type="hidden" name="address" value={r.address} />
                                <button type="submit" className="text-sm text-red-700 hover:underline" aria-label={`Remove ${r.address}`}>
                                  Remove
                                </button>
                              </ActionForm>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </TableWrap>
                </>
              )}
              {matching.length > SHOWN ? (
                <p className="mt-2 text-sm text-slate-500">
                  Showing {SHOWN} of {formatNumber(matching.length)}; search to find others, or export the whole list.
                </p>
              ) : null}
            </Card>
          </div>
        </div>
      </>
    );
  },
);
