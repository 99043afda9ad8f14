import type { Metadata } from "next";
import { ChangePasswordForm } from "./change-password-form.tsx";
import { TwoFactorCard } from "./two-factor-card.tsx";
import { withPage } from "@/app/_server/auth.ts";
import { Card, Facts, PageHeader } from "@/app/_ui/page-header.tsx";

export const metadata: Metadata = { title: "Your account" };

export default withPage("any", async function AccountPage(actor) {
  return (
    <>
      <PageHeader title="Your account" />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Signed in as">
          <Facts
            items={[
              ["E-mail", actor.label],
              ["Role", actor.type === "staff" ? "ISP staff" : "Customer"],
            ]}
          />
        </Card>
        <Card title="Change password">
          <ChangePasswordForm />
        </Card>
        <TwoFactorCard actor={actor} />
      </div>
    </>
  );
});
