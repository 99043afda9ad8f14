import type { Metadata } from "next";
import Link from "next/link";
import { restrictLoginAction, setLoginStatusAction } from "../actions.ts";
import { withPage } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { ConnectionGuidePanel } from "@/app/_ui/connection-guide.tsx";
import { Checkbox } from "@/app/_ui/field.tsx";
import { LoginFacts, RotateLoginCard } from "@/app/_ui/login-panels.tsx";
import { Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { SessionTranscripts } from "@/app/_ui/session-transcripts.tsx";
import { SessionsTable } from "@/app/_ui/sessions-table.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { listDomains } from "@/lib/domains/domains.ts";
import { getConnectionGuide } from "@/lib/logins/connection-guide.ts";
import { getLogin } from "@/lib/logins/logins.ts";
import { listSessions } from "@/lib/sessions/list-sessions.ts";
import { listLoginTranscripts } from "@/lib/sessions/login-transcripts.ts";

export const metadata: Metadata = { title: "ODMR login" };

export default withPage("staff", async function StaffLoginPage(actor, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const login = await getLogin(actor, id);
  const [domains, sessions, guide, transcripts] = await Promise.all([
    listDomains(actor, { customerId: login.customerId }),
    listSessions(actor, { loginId: login.id, limit: 20 }),
    getConnectionGuide(actor, login.id),
    listLoginTranscripts(actor, login.id),
  ]);
  const allowed = new Set(login.domains.map((d) => d.domain.id));
  const disabled = login.status === "disabled";
  return (
    <>
      <PageHeader
        title={`Login ${login.login}`}
        crumbs={[
          { href: "/staff/customers", label: "Customers" },
          { href: `/staff/customers/${login.customer.id}`, label: login.customer.name },
        ]}
        description={
          <>
            Customer <Link href={`/staff/customers/${login.customer.id}`}>{login.customer.name}</Link>
          </>
        }
        actions={
          <ActionForm
            action={setLoginStatusAction}
            className=""
            confirm={disabled ? undefined : `Disable ${login.login}? Its server will no longer be able to collect mail.`}
          >
            <input type="hidden" name="id" value={login.id} />
            <input type="hidden" name="status" value={disabled ? "active" : "disabled"} />
            <SubmitButton variant={disabled ? "primary" : "secondary"}>{disabled ? "Enable" : "Disable"}</SubmitButton>
          </ActionForm>
        }
      />
      <div className="grid gap-6 lg:grid-cols-2">
        <LoginFacts login={login} />
        <RotateLoginCard loginId={login.id} />
        <Card title="Domains it may collect">
          <ActionForm action={restrictLoginAction} label="Domains it may collect">
            <input type="hidden" name="id" value={login.id} />
            <Checkbox label="Every domain of the customer (also those added later)" name="allDomains" defaultChecked={login.allDomains} />
            <fieldset className="space-y-2">
              <legend className="mb-1 text-sm text-slate-600">Or only these:</legend>
              {domains.length === 0 ? (
                <p className="text-sm text-slate-500">The customer has no domain yet.</p>
              ) : (
                domains.map((d) => <Checkbox key={d.id} label={d.name} name="domain" value={d.name} defaultChecked={!login.allDomains && allowed.has(d.id)} />)
              )}
            </fieldset>
            <SubmitButton>Save</SubmitButton>
          </ActionForm>
        </Card>
        <ConnectionGuidePanel guide={guide} staff />
        <SessionTranscripts sessions={transcripts} />
      </div>
      <h2 className="mt-8 mb-3 text-lg font-semibold">Recent sessions</h2>
      <SessionsTable sessions={sessions.items} staff />
      <p className="mt-2 text-sm">
        <Link href={`/staff/sessions?loginId=${login.id}`}>All sessions of this login</Link>
      </p>
    </>
  );
});
