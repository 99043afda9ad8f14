"use client";
import { useRouter } from "next/navigation";
import { signIn } from "next-auth/react";
import { useId, useState } from "react";

/** next-auth error codes (and the ones our authorize throws) in words people can act on. */
function describe(code: string | undefined): string | null {
  if (!code) return null;
  switch (code) {
    case "CredentialsSignin":
      return "Wrong e-mail address or password.";
    case "THROTTLED":
      return "Too many failed attempts. Please wait 15 minutes before trying again.";
    case "UNAVAILABLE":
      return "Logging in is not possible just now (the database is not available). Please try again in a moment.";
    case "CODE_REQUIRED":
      return "Enter the code from your authenticator app.";
    case "CODE_WRONG":
      return "That code is not right. Enter the current code from your app, or one of your recovery codes.";
    case "SessionRequired":
      return "Please log in to continue.";
    default:
      return "Logging in failed. Please try again.";
  }
}

/** `next`: where to go once logged in (a checked path on this site, app/_server/return-path.ts). */
export function LoginForm({ initialError, next = "/" }: { initialError?: string; next?: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(describe(initialError));
  const [pending, setPending] = useState(false);
  // the account has two-factor sign-in: the password was right, the code comes next (same request again, with it)
  const [needCode, setNeedCode] = useState(false);
  const id = useId();
  return (
    <form
      className="space-y-4"
      aria-label="Log in"
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        setPending(true);
        setError(null);
        const result = await signIn("credentials", {
          email: String(form.get("email") ?? ""),
          password: String(form.get("password") ?? ""),
          code: String(form.get("code") ?? ""),
          redirect: false,
        }).catch(() => ({ ok: false, error: "UNAVAILABLE" }));
        if (result?.ok && !result.error) {
          router.replace(next);
          router.refresh();
          return;
        }
        setPending(false);
        if (result?.error === "CODE_REQUIRED" || result?.error === "CODE_WRONG") setNeedCode(true);
        setError(describe(result?.error ?? "CredentialsSignin"));
      }}
    >
      <div>
        <label htmlFor={`${id}-email`}>E-mail</label>
        <input id={`${id}-email`} name="email" type="email" autoComplete="username" required autoFocus className="mt-1" />
      </div>
      <div>
        <label htmlFor={`${id}-password`}>Password</label>
        <input id={`${id}-password`} name="password" type="password" autoComplete="current-password" required className="mt-1" />
      </div>
      {needCode ? (
        <div>
          <label htmlFor={`${id}-code`}>Authentication code</label>
          <input
            id={`${id}-code`}
            name="code"
            type="text"
            inputMode="numeric"
            autoComplete="one-time-code"
            required
            autoFocus
            aria-describedby={`${id}-code-hint`}
            className="mt-1"
          />
          <p id={`${id}-code-hint`} className="mt-1 text-xs text-slate-500">
            The 6 digits your authenticator app shows, or a recovery code.
          </p>
        </div>
      ) : null}
      {error ? (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-900">
          {error}
        </p>
      ) : null}
      <button
        type="submit"
        disabled={pending}
        className="w-full rounded-md bg-sky-700 px-4 py-2 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60"
      >
        {pending ? "Logging in…" : "Log in"}
      </button>
    </form>
  );
}
