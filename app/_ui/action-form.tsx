"use client";
// A form posting to a server action. It shows the action's message (and a secret or an import report)
// next to the fields, moves focus to a field the server found wrong, and keeps what was typed when the
// action fails (it submits inside a transition instead of letting the browser reset the form).
import { startTransition, useActionState, useEffect, useRef, type ReactNode } from "react";
import type { ActionResult } from "@/app/_server/action-result.ts";
import { SecretReveal } from "./secret-reveal.tsx";

type Action = (previous: ActionResult | null, form: FormData) => Promise<ActionResult>;

export function ActionForm({ action, children, className = "space-y-4", resetOnSuccess = false, confirm, label }: {
  action: Action;
  children: ReactNode;
  className?: string;
  resetOnSuccess?: boolean;
  /** asks before submitting (deletions) */
  confirm?: string;
  label?: string;
}) {
  const [state, formAction, pending] = useActionState(action, null);
  const formRef = useRef<HTMLFormElement>(null);
  const messageRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const form = formRef.current;
    if (!state || !form) return;
    for (const element of Array.from(form.elements)) element.removeAttribute("aria-invalid");
    if (!state.ok && state.field) {
      const field = form.elements.namedItem(state.field);
      if (field instanceof HTMLElement) {
        field.setAttribute("aria-invalid", "true");
        field.focus();
        return;
      }
    }
    if (state.ok && resetOnSuccess) form.reset();
    messageRef.current?.focus();
  }, [state, resetOnSuccess]);

  return (
    <form
      ref={formRef}
      action={formAction}
      aria-label={label}
      aria-busy={pending}
      className={className}
      onSubmit={(event) => {
        event.preventDefault();
        if (confirm && !window.confirm(confirm)) return;
        const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLElement | null;
        const data = new FormData(event.currentTarget, submitter);
        startTransition(() => formAction(data));
      }}
    >
      {children}
      <div ref={messageRef} tabIndex={-1} aria-live="polite" className="outline-none">
        {state?.message ? (
          <p role={state.ok ? "status" : "alert"} className={`rounded-md px-3 py-2 text-sm ${state.ok ? "bg-emerald-50 text-emerald-900" : "bg-red-50 text-red-900"}`}>
            {state.message}
          </p>
        ) : null}
        {state?.ok && state.secret ? <SecretReveal key={state.at} {...state.secret} /> : null}
        {state?.ok && state.report ? (
          <div className="mt-3 text-sm" data-testid="import-report">
            <p>{state.report.added} added, {state.report.existing} already listed, {state.report.rejected.length} rejected.</p>
            {state.report.rejected.length ? (
              <ul className="mt-2 max-h-64 list-disc space-y-1 overflow-auto pl-5 text-red-900">
                {state.report.rejected.map((r) => (
                  <li key={`${r.where}-${r.input}`}>{r.where}: <code className="break-all">{r.input}</code> — {r.reason}</li>
                ))}
              </ul>
            ) : null}
          </div>
        ) : null}
      </div>
    </form>
  );
}
