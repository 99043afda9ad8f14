"use client";
// A form posting to a server action. It shows the action's message (and a secret or an import report)
// next to the fields, moves focus to a field the server found wrong, and keeps what was typed when the
// action fails (it submits inside a transition instead of letting the browser reset the form).
// A message is only shown while it is current: editing the form, submitting it again or submitting
// another form on the page takes it away (a secret shown once stays).
import { startTransition, useActionState, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { SecretReveal } from "./secret-reveal.tsx";
import type { ActionResult } from "@/app/_server/action-result.ts";

type Action = (previous: ActionResult | null, form: FormData) => Promise<ActionResult>;

/** Announced on every submit, so the other forms of the page drop their messages. */
const SUBMIT_EVENT = "mailharbor:action-submit";

export function ActionForm({
  action,
  children,
  className = "space-y-4",
  resetOnSuccess = false,
  confirm,
  label,
}: {
  action: Action;
  children: ReactNode;
  className?: string;
  resetOnSuccess?: boolean;
  /** asks before submitting (deletions) */
  confirm?: string;
  label?: string;
}) {
  const [state, formAction, pending] = useActionState(action, null);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const messageRef = useRef<HTMLDivElement>(null);
  const id = useId();
  const shown = state && !pending && state.at !== dismissed ? state : null;

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

  useEffect(() => {
    const onOtherSubmit = (event: Event) => {
      if ((event as CustomEvent<string>).detail !== id && state) setDismissed(state.at);
    };
    window.addEventListener(SUBMIT_EVENT, onOtherSubmit);
    return () => window.removeEventListener(SUBMIT_EVENT, onOtherSubmit);
  }, [id, state]);

  const partial = shown?.ok && shown.report && shown.report.rejected.length > 0;
  const tone = !shown?.ok ? "bg-red-50 text-red-900" : partial ? "bg-amber-50 text-amber-900" : "bg-emerald-50 text-emerald-900";
  return (
    <form
      ref={formRef}
      action={formAction}
      aria-label={label}
      aria-busy={pending}
      className={className}
      onInput={() => {
        if (state && !state.secret) setDismissed(state.at);
      }}
      onSubmit={(event) => {
        event.preventDefault();
        if (confirm && !window.confirm(confirm)) return;
        const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLElement | null;
        const data = new FormData(event.currentTarget, submitter);
        window.dispatchEvent(new CustomEvent(SUBMIT_EVENT, { detail: id }));
        startTransition(() => formAction(data));
      }}
    >
      {children}
      <div ref={messageRef} tabIndex={-1} aria-live="polite" className="outline-none empty:hidden" data-action-message>
        {shown?.message ? (
          <p role={shown.ok ? "status" : "alert"} className={`rounded-md px-3 py-2 text-sm ${tone}`}>
            {shown.message}
          </p>
        ) : null}
        {state?.ok && state.secret ? <SecretReveal key={state.at} {...state.secret} /> : null}
        {shown?.report ? (
          <div className="mt-3 text-sm" data-testid="import-report">
            {shown.ok ? (
              <p>
                {shown.report.added} added, {shown.report.existing} already listed, {shown.report.rejected.length} rejected.
              </p>
            ) : null}
            {shown.report.rejected.length ? (
              <ul className="mt-2 max-h-64 list-disc space-y-1 overflow-auto pl-5 text-red-900">
                {shown.report.rejected.map((r) => (
                  <li key={`${r.where}-${r.input}`}>
                    {r.where}: <code className="break-all">{r.input}</code> — {r.reason}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        ) : null}
      </div>
    </form>
  );
}
