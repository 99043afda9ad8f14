import type { Metadata } from "next";
import Link from "next/link";
import { requirePendingStep } from "@/app/_server/auth.ts";
import { Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { ChangePasswordForm } from "@/app/account/change-password-form.tsx";

export const metadata: Metadata = { title: "Choose your password" };

export default async function SetPasswordPage() {
  const actor = await requirePendingStep("password");
  return (
    <>
      <PageHeader title="Choose your password" description={`${actor.label}: you signed in with a one-time password. Choose your own before you go on.`} />
      <Card title="Change password">
        <ChangePasswordForm currentLabel="One-time password" />
        <p className="mt-4 text-sm text-slate-600">
          After the change, <Link href="/login">sign in again</Link> with your new password.
        </p>
      </Card>
    </>
  );
}
