import type { Metadata } from "next";
import { withPage } from "@/app/_server/auth.ts";
import { MessageView } from "@/app/_ui/message-view.tsx";
import { buttonClass, PageHeader } from "@/app/_ui/page-header.tsx";
import { getMessageDetail } from "@/lib/queue/message-detail.ts";

export const metadata: Metadata = { title: "Held message" };

export default withPage("customer", async function CustomerMessagePage(actor, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const message = await getMessageDetail(actor, id);
  return (
    <>
      <PageHeader
        title={message.subject ?? "(no subject)"}
        crumbs={[
          { href: "/my", label: "Overview" },
          { href: "/my/mail", label: "Held mail" },
        ]}
        actions={
          message.headers ? (
            <a href={`/my/mail/${message.id}/eml`} className={buttonClass.secondary} download>
              Download .eml
            </a>
          ) : null
        }
      />
      <MessageView message={message} staff={false} />
    </>
  );
});
