import type { Metadata } from "next";
import { bounceMessageAction, deleteMessageAction, releaseLeaseAction } from "../actions.ts";
import { withPage } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { MessageView } from "@/app/_ui/message-view.tsx";
import { NoSmarthostWarning } from "@/app/_ui/no-smarthost-warning.tsx";
import { buttonClass, PageHeader } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { getConfig } from "@/lib/config/config.ts";
import { isHeld } from "@/lib/queue/delivery-state.ts";
import { getMessageDetail } from "@/lib/queue/message-detail.ts";

export const metadata: Metadata = { title: "Message" };

export default withPage("staff", async function StaffMessagePage(actor, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const message = await getMessageDetail(actor, id);
  const held = message.deliveries.some((d) => isHeld(d.state));
  const leased = message.deliveries.some((d) => isHeld(d.state) && (d.leaseOwner || d.leaseUntil));
  return (
    <>
      <PageHeader
        title={message.subject ?? "(no subject)"}
        crumbs={[{ href: "/staff/queue", label: "Queue" }]}
        actions={
          <>
            {message.headers ? (
              <a href={`/staff/queue/${message.id}/eml`} className={buttonClass.secondary} download>
                Download .eml
              </a>
            ) : null}
            {leased ? (
              <ActionForm
                action={releaseLeaseAction}
                className=""
                confirm="Release the lease? Only do this when no session is delivering this message now, or it may be delivered twice."
              >
                <input type="hidden" name="id" value={message.id} />
                <SubmitButton variant="secondary">Release lease</SubmitButton>
              </ActionForm>
            ) : null}
            <ActionForm
              action={bounceMessageAction}
              className=""
              confirm="Bounce every held recipient of this message now? The sender is told it was not delivered."
            >
              <input type="hidden" name="id" value={message.id} />
              <SubmitButton variant="secondary" disabled={!held} title={held ? undefined : "No recipient of this message is held"}>
                Bounce now
              </SubmitButton>
            </ActionForm>
            {getConfig().SMARTHOST ? null : <NoSmarthostWarning />}
            <ActionForm
              action={deleteMessageAction}
              className=""
              confirm="Delete this message for every recipient, without telling the sender? This cannot be undone."
            >
              <input type="hidden" name="id" value={message.id} />
              <SubmitButton variant="danger">Delete</SubmitButton>
            </ActionForm>
          </>
        }
      />
      <MessageView message={message} staff />
    </>
  );
});
