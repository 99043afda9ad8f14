import type { Metadata } from "next";
import { withPage } from "@/app/_server/auth.ts";
import { ConnectionGuidePanel } from "@/app/_ui/connection-guide.tsx";
import { LoginFacts, RotateLoginCard } from "@/app/_ui/login-panels.tsx";
import { PageHeader } from "@/app/_ui/page-header.tsx";
import { SessionTranscripts } from "@/app/_ui/session-transcripts.tsx";
import { SessionsTable } from "@/app/_ui/sessions-table.tsx";
import { getConnectionGuide } from "@/lib/logins/connection-guide.ts";
import { getLogin } from "@/lib/logins/logins.ts";
import { listSessions } from "@/lib/sessions/list-sessions.ts";
import { listLoginTranscripts } from "@/lib/sessions/login-transcripts.ts";

export const metadata: Metadata = { title: "ODMR login" };

export default withPage("customer", async function CustomerLoginPage(actor, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const login = await getLogin(actor, id);
  const [sessions, guide, transcripts] = await Promise.all([
    listSessions(actor, { loginId: login.id, limit: 20 }),
    getConnectionGuide(actor, login.id),
    listLoginTranscripts(actor, login.id),
  ]);
  return (
    <>
      <PageHeader title={`Login ${login.login}`} crumbs={[{ href: "/my", label: "Overview" }]} />
      <div className="grid gap-6 lg:grid-cols-2">
        <LoginFacts login={login} />
        <RotateLoginCard loginId={login.id} />
        <ConnectionGuidePanel guide={guide} staff={false} />
        <SessionTranscripts sessions={transcripts} />
      </div>
      <h2 className="mt-8 mb-3 text-lg font-semibold">Recent sessions</h2>
      <SessionsTable sessions={sessions.items} staff={false} />
    </>
  );
});
