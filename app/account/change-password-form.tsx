import { changePasswordAction } from "./actions.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { Field } from "@/app/_ui/field.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { PASSWORD_MIN_LENGTH } from "@/lib/auth/password-policy.ts";

/** The account page's password change, and the forced one after a one-time password. */
export function ChangePasswordForm({ currentLabel = "Current password" }: { currentLabel?: string }) {
  return (
    <ActionForm action={changePasswordAction} resetOnSuccess label="Change password">
      <Field label={currentLabel} name="current" type="password" autoComplete="current-password" required />
      <Field
        label="New password"
        name="next"
        type="password"
        autoComplete="new-password"
        minLength={PASSWORD_MIN_LENGTH}
        required
        hint={`At least ${PASSWORD_MIN_LENGTH} characters, and not one of the most common passwords. A few unrelated words make a good one.`}
      />
      <Field label="Repeat the new password" name="repeat" type="password" autoComplete="new-password" required />
      <SubmitButton>Change password</SubmitButton>
    </ActionForm>
  );
}
