import type { Metadata } from "next";
import Link from "next/link";
import { withPage } from "@/app/_server/auth.ts";
import { queryParams } from "@/app/_server/load.ts";
import { Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { SessionsTable } from "@/app/_ui/sessions-table.tsx";
import { listSessions } from "@/lib/sessions/list-sessions.ts";

export const metadata: Metadata = { title: "Sessions" };

export default withPage(
  "customer",
  async function CustomerSessionsPage(actor, { searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
    const params = queryParams(await searchParams);
    const sessions = await listSessions(actor, { loginId: params.loginId, before: params.before });
    const kept: Record<string, string> = params.loginId ? { loginId: params.loginId } : {};
    return (
      <>
        <PageHeader title="Your sessions" description="Each time your server connected to collect mail, newest first." />
        <Card>
          <SessionsTable sessions={sessions.items} staff={false} />
          {sessions.nextCursor ? (
            <p className="mt-4 text-right text-sm">
              <Link href={`/my/sessions?${new URLSearchParams({ ...kept, before: sessions.nextCursor })}`}>Older →</Link>
            </p>
          ) : null}
        </Card>
      </>
    );
  },
);
