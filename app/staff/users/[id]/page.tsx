import type { Metadata } from "next";
import Link from "next/link";
import { resetPasswordAction, resetTwoFactorAction } from "../actions.ts";
import { withPage } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { formatTime } from "@/app/_ui/format.ts";
import { Badge, Card, Facts, PageHeader } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { getPortalUser } from "@/lib/users/users.ts";

export const metadata: Metadata = { title: "Portal user" };

export default withPage("staff", async function UserPage(actor, { params }: { params: Promise<{ id: string }> }) {
  const user = await getPortalUser(actor, (await params).id);
  const self = user.id === actor.id;
  return (
    <>
      <PageHeader title={user.email} description={<Link href="/staff/users">All portal users</Link>} />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="User">
          <Facts
            items={[
              [
                "Role",
                <Badge key="role" tone={user.role === "staff" ? "sky" : "slate"}>
                  {user.role}
                </Badge>,
              ],
              ["Customer", user.customer ? <Link href={`/staff/customers/${user.customer.id}`}>{user.customer.name}</Link> : "—"],
              ["Status", user.disabled ? "disabled" : "active"],
              ["Password", user.mustChangePassword ? "one-time: to be changed at the next sign-in" : "chosen by the user"],
              [
                "Two-factor sign-in",
                user.totpEnabledAt ? `on since ${formatTime(user.totpEnabledAt)} (${user._count.recoveryCodes} recovery codes left)` : "off",
              ],
              ["Created", formatTime(user.createdAt)],
              ["Last login", formatTime(user.lastLoginAt)],
            ]}
          />
        </Card>
        {self ? (
          <Card title="Your own account">
            <p className="text-sm text-slate-700">
              Change your password and two-factor sign-in under <Link href="/account">Your account</Link>.
            </p>
          </Card>
        ) : (
          <Card title="Access">
            <div className="space-y-6">
              <ActionForm
                action={resetPasswordAction}
                label="Reset password"
                confirm={`Give ${user.email} a new one-time password? Their current password stops working and they are logged out at once.`}
              >
                <input type="hidden" name="id" value={user.id} />
                <p className="text-sm text-slate-700">A new one-time password, shown once; the user must choose their own when signing in with it.</p>
                <SubmitButton variant="secondary">Reset password</SubmitButton>
              </ActionForm>
              {/* always there, so that its answer stays on screen after the page shows the change */}
              <ActionForm
                action={resetTwoFactorAction}
                label="Reset two-factor sign-in"
                confirm={`Turn off two-factor sign-in for ${user.email}? Their password alone will then sign them in.`}
              >
                <input type="hidden" name="id" value={user.id} />
                <p className="text-sm text-slate-700">
                  For a lost phone: two-factor sign-in is turned off and the recovery codes deleted; the user can set it up again.
                </p>
                <SubmitButton variant="secondary">Reset two-factor sign-in</SubmitButton>
              </ActionForm>
            </div>
          </Card>
        )}
      </div>
    </>
  );
});
