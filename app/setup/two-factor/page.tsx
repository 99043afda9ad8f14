import type { Metadata } from "next";
import Link from "next/link";
import { requirePendingStep } from "@/app/_server/auth.ts";
import { PageHeader } from "@/app/_ui/page-header.tsx";
import { TwoFactorCard } from "@/app/account/two-factor-card.tsx";

export const metadata: Metadata = { title: "Set up two-factor sign-in" };

export default async function SetTwoFactorPage() {
  const actor = await requirePendingStep("two-factor");
  return (
    <>
      <PageHeader
        title="Set up two-factor sign-in"
        description={`${actor.label}: staff accounts of this portal must sign in with a code from an authenticator app. Set it up before you go on.`}
      />
      <TwoFactorCard
        actor={actor}
        after={
          <p className="mt-4 text-sm text-slate-600">
            Once it is on and the recovery codes are stored: <Link href="/">continue to the portal</Link>.
          </p>
        }
      />
    </>
  );
}
