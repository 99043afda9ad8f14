import type { Metadata } from "next";
import { requireUser } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { Field } from "@/app/_ui/field.tsx";
import { Card, Facts, PageHeader } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { changePasswordAction } from "./actions.ts";

export const metadata: Metadata = { title: "Your account" };

export default async function AccountPage() {
  const actor = await requireUser();
  return (
    <>
      <PageHeader title="Your account" />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Signed in as">
          <Facts items={[["E-mail", actor.label], ["Role", actor.type === "staff" ? "ISP staff" : "Customer"]]} />
        </Card>
        <Card title="Change password">
          <ActionForm action={changePasswordAction} resetOnSuccess label="Change password">
            <Field label="Current password" name="current" type="password" autoComplete="current-password" required />
            <Field label="New password" name="next" type="password" autoComplete="new-password" minLength={10} required hint="At least 10 characters." />
            <Field label="Repeat the new password" name="repeat" type="password" autoComplete="new-password" required />
            <SubmitButton>Change password</SubmitButton>
          </ActionForm>
        </Card>
      </div>
    </>
  );
}
