// Two-factor sign-in on the account page (and on /setup/two-factor when staff must have it): start,
// scan the QR code (rendered here on the server; nothing leaves the portal) or type the secret,
// confirm with a first code and keep the recovery codes; or, when on, turn it off.
import QRCode from "qrcode";
import type { ReactNode } from "react";
import { confirmTwoFactorAction, disableTwoFactorAction, startTwoFactorAction } from "./actions.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { Field } from "@/app/_ui/field.tsx";
import { formatTime } from "@/app/_ui/format.ts";
import { Card, Facts } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import type { Actor } from "@/lib/actor.ts";
import { getTwoFactorStatus, RECOVERY_CODE_COUNT } from "@/lib/users/two-factor.ts";

export async function TwoFactorCard({ actor, after }: { actor: Actor; after?: ReactNode }) {
  const status = await getTwoFactorStatus(actor);
  if (status.state === "enabled") {
    return (
      <Card title="Two-factor sign-in">
        <Facts
          items={[
            ["Status", `On since ${formatTime(status.enabledAt)}`],
            ["Recovery codes left", String(status.recoveryCodesLeft)],
          ]}
        />
        <ActionForm action={disableTwoFactorAction} label="Turn off two-factor sign-in" className="mt-4 space-y-4">
          <Field label="Current code or password" name="proof" type="password" autoComplete="off" required hint="A code from your app, or your password." />
          <SubmitButton variant="danger">Turn off</SubmitButton>
        </ActionForm>
      </Card>
    );
  }
  if (status.state === "off") {
    return (
      <Card title="Two-factor sign-in">
        <p className="text-sm text-slate-700">
          Sign in with a code from an authenticator app (any TOTP app: FreeOTP, Aegis, Google Authenticator, 1Password …) after the password, so that a stolen
          password alone is not enough.
        </p>
        <ActionForm action={startTwoFactorAction} label="Set up two-factor sign-in" className="mt-4 space-y-4">
          <SubmitButton>Set up two-factor sign-in</SubmitButton>
        </ActionForm>
      </Card>
    );
  }
  const svg = await QRCode.toString(status.uri, { type: "svg", errorCorrectionLevel: "M", margin: 1, width: 200 });
  return (
    <Card title="Two-factor sign-in">
      <ol className="list-decimal space-y-3 pl-5 text-sm text-slate-700">
        <li>
          Scan this QR code with your authenticator app:
          {/* qrcode's SVG of our own otpauth URI: path data only */}
          <div className="mt-2 w-[200px] bg-white" role="img" aria-label="QR code of the two-factor secret" dangerouslySetInnerHTML={{ __html: svg }} />
        </li>
        <li>
          Or enter the secret by hand (time-based, 6 digits, 30 seconds):
          <code className="mt-1 block rounded bg-slate-100 px-2 py-1 font-mono text-base break-all select-all" data-testid="totp-secret">
            {status.secret.replace(/(.{4})(?=.)/g, "$1 ")}
          </code>
        </li>
        <li>Enter the code the app now shows. Two-factor sign-in is on only after this; you then get {RECOVERY_CODE_COUNT} recovery codes, shown once.</li>
      </ol>
      <ActionForm action={confirmTwoFactorAction} label="Confirm two-factor sign-in" className="mt-4 space-y-4">
        <Field label="Code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]{6,7}" required />
        <SubmitButton>Turn on</SubmitButton>
      </ActionForm>
      {after}
    </Card>
  );
}
