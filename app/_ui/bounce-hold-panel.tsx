// A domain held by bounce protection (lib/protection/bounce-protection.ts): why, with the customer
// server's replies, and the two ways out. Shown to staff and to the domain's own customer.
import { ActionForm } from "./action-form.tsx";
import { formatTime } from "./format.ts";
import { SubmitButton } from "./submit-button.tsx";
import { resolveBounceHoldAction } from "@/app/_actions/resolve-bounce-hold.ts";
import type { BounceEvidence } from "@/lib/protection/bounce-protection.ts";

export function BounceHoldPanel({ domain }: { domain: { id: string; name: string; bounceHeldAt: Date | null; bounceHeldEvidence: unknown } }) {
  if (!domain.bounceHeldAt) return null;
  const evidence = domain.bounceHeldEvidence as BounceEvidence | null;
  return (
    <section aria-label={`Bounce protection hold of ${domain.name}`} className="rounded-md border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950">
      <h3 className="font-semibold">{domain.name} held: receiving server refused most recipients</h3>
      <p className="mt-1">
        Since {formatTime(domain.bounceHeldAt)}
        {evidence ? (
          <>
            : the server refused {evidence.refused} of {evidence.offered} recipients offered in one collection (threshold {evidence.percent} %)
          </>
        ) : null}
        . The refused mail is kept, not bounced.
      </p>
      {evidence?.replies.length ? (
        <ul className="mt-2 list-disc space-y-1 pl-5 font-mono text-xs break-all">
          {evidence.replies.map((r, i) => (
            <li key={i}>
              {r.recipient}: {r.reply}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="mt-3 flex flex-wrap gap-3">
        <ActionForm action={resolveBounceHoldAction} className="" label={`Retry ${domain.name}`}>
          <input type="hidden" name="id" value={domain.id} />
          <input type="hidden" name="action" value="retry" />
          <SubmitButton variant="secondary">Server fixed: retry at the next collection</SubmitButton>
        </ActionForm>
        <ActionForm
          action={resolveBounceHoldAction}
          className=""
          label={`Bounce ${domain.name}`}
          confirm={`Bounce the refused mail of ${domain.name} now? Each sender is told the recipient does not exist.`}
        >
          <input type="hidden" name="id" value={domain.id} />
          <input type="hidden" name="action" value="bounce" />
          <SubmitButton variant="danger">They really don&apos;t exist: bounce now</SubmitButton>
        </ActionForm>
      </div>
    </section>
  );
}
