"use client";
// Acting on many rows at once: a row's checkbox belongs to a bulk form by its `form` attribute, so
// the table stays server-rendered. Every bulk action asks first, in the page, with the number it
// will change: for the queue that number comes from the server (it counts "all matching" itself),
// for a recipient list it is the ticked rows.
import { useRouter } from "next/navigation";
import { useRef, useState, useSyncExternalStore, useTransition } from "react";
import { formatNumber } from "./format.ts";
import { buttonClass } from "./page-header.tsx";
import type { ActionResult } from "@/app/_server/action-result.ts";

type Submit = (form: FormData) => Promise<ActionResult>;

/** False until the page is interactive: the buttons stay disabled, so an early click is not lost. */
function useHydrated(): boolean {
  // the server's snapshot is false, the browser's true: React switches after hydration
  return useSyncExternalStore(
    subscribeNever,
    () => true,
    () => false,
  );
}

function subscribeNever(): () => void {
  return () => undefined;
}

/** Ticks or clears every row checkbox of a bulk form on this page. */
export function SelectAll({ form, name, label }: { form: string; name: string; label: string }) {
  return (
    <input
      type="checkbox"
      aria-label={label}
      onChange={(event) => {
        for (const box of document.querySelectorAll<HTMLInputElement>(`input[type=checkbox][form="${form}"][name="${name}"]`))
          box.checked = event.currentTarget.checked;
      }}
    />
  );
}

function Result({ result }: { result: ActionResult | null }) {
  if (!result?.message) return null;
  return (
    <p
      role={result.ok ? "status" : "alert"}
      className={`rounded-md px-3 py-2 text-sm ${result.ok ? "bg-emerald-50 text-emerald-900" : "bg-red-50 text-red-900"}`}
    >
      {result.message}
    </p>
  );
}

function Confirmation({
  question,
  note,
  confirmLabel,
  danger,
  pending,
  onConfirm,
  onCancel,
}: {
  question: string;
  note: string;
  confirmLabel: string;
  danger: boolean;
  pending: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <div role="alertdialog" aria-labelledby="bulk-question" aria-describedby="bulk-note" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm">
      <p id="bulk-question" className="font-semibold">
        {question}
      </p>
      <p id="bulk-note" className="mt-1 text-slate-700">
        {note}
      </p>
      <div className="mt-3 flex gap-2">
        <button type="button" className={danger ? buttonClass.danger : buttonClass.primary} disabled={pending} onClick={onConfirm} autoFocus>
          {confirmLabel}
        </button>
        <button type="button" className={buttonClass.secondary} disabled={pending} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

export interface BulkChoice {
  action: "delete" | "bounce" | "release";
  label: string;
  note: string;
  danger?: boolean;
}

function plural(n: number, word: string): string {
  return `${formatNumber(n)} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The queue's bulk form: the list's filter as hidden fields, ticked rows or "all matching", and the
 * actions. A click asks the server to count, shows "Bounce 1,234 messages?", and only the
 * confirmation does it, up to the newest message counted.
 */
export function QueueBulkActions({
  formId,
  filter,
  matching,
  choices,
  count,
  run,
}: {
  formId: string;
  filter: Record<string, string>;
  /** "1,234" or "more than 10,000": the list's own count, for the scope label */
  matching: string;
  choices: BulkChoice[];
  count: Submit;
  run: Submit;
}) {
  const formRef = useRef<HTMLFormElement>(null);
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [result, setResult] = useState<ActionResult | null>(null);
  const [asking, setAsking] = useState<{ choice: BulkChoice; count: number; data: FormData } | null>(null);
  const hydrated = useHydrated();

  function ask(choice: BulkChoice) {
    const data = new FormData(formRef.current!);
    data.set("action", choice.action);
    setResult(null);
    startTransition(async () => {
      const counted = await count(data);
      if (!counted.ok || !counted.bulk) return setResult(counted);
      if (counted.bulk.count === 0 || !counted.bulk.upTo)
        return setResult({ ok: false, message: `Nothing to ${choice.action}: no held message of this choice can be changed now.`, at: Date.now() });
      data.set("upTo", counted.bulk.upTo);
      setAsking({ choice, count: counted.bulk.count, data });
    });
  }

  function confirm() {
    if (!asking) return;
    startTransition(async () => {
      const done = await run(asking.data);
      setAsking(null);
      setResult(done);
      if (done.ok) {
        for (const box of document.querySelectorAll<HTMLInputElement>(`input[type=checkbox][form="${formId}"]`)) box.checked = false;
        router.refresh();
      }
    });
  }

  return (
    <form id={formId} ref={formRef} aria-label="Bulk actions" aria-busy={pending} className="space-y-3" onSubmit={(event) => event.preventDefault()}>
      {Object.entries(filter).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2 text-sm">
        <span className="font-medium">Act on</span>
        <label className="flex items-center gap-1.5 font-normal">
          <input type="radio" name="scope" value="selected" defaultChecked /> the ticked messages
        </label>
        <label className="flex items-center gap-1.5 font-normal">
          <input type="radio" name="scope" value="all" /> all {matching} matching the filter
        </label>
        <span className="flex flex-wrap gap-2">
          {choices.map((choice) => (
            <button key={choice.action} type="button" disabled={pending || !hydrated} className={buttonClass.secondary} onClick={() => ask(choice)}>
              {choice.label}…
            </button>
          ))}
        </span>
      </div>
      {asking ? (
        <Confirmation
          question={`${asking.choice.label} ${plural(asking.count, "message")}?`}
          note={asking.choice.note}
          confirmLabel={`${asking.choice.label} ${plural(asking.count, "message")}`}
          danger={asking.choice.danger ?? false}
          pending={pending}
          onConfirm={confirm}
          onCancel={() => setAsking(null)}
        />
      ) : null}
      <div aria-live="polite">
        <Result result={result} />
      </div>
    </form>
  );
}

/** A recipient list's "Remove selected": asks "Remove 3 recipients?" for the ticked rows. */
export function RecipientBulkRemove({ formId, domainId, action }: { formId: string; domainId: string; action: Submit }) {
  const formRef = useRef<HTMLFormElement>(null);
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [result, setResult] = useState<ActionResult | null>(null);
  const [asking, setAsking] = useState<number | null>(null);
  const hydrated = useHydrated();

  function ticked(): number {
    return new FormData(formRef.current!).getAll("addresses").length;
  }

  return (
    <form id={formId} ref={formRef} aria-label="Remove recipients" className="space-y-2" onSubmit={(event) => event.preventDefault()}>
      <input type="hidden" name="id" value={domainId} />
      <button
        type="button"
        className={buttonClass.secondary}
        disabled={pending || !hydrated}
        onClick={() => {
          setResult(null);
          const n = ticked();
          if (n === 0) setResult({ ok: false, message: "Tick the recipients to remove first.", at: Date.now() });
          else setAsking(n);
        }}
      >
        Remove selected…
      </button>
      {asking !== null ? (
        <Confirmation
          question={`Remove ${plural(asking, "recipient")}?`}
          note="The MX refuses mail for them (550 5.1.1) from now on, while the domain takes listed recipients only."
          confirmLabel={`Remove ${plural(asking, "recipient")}`}
          danger
          pending={pending}
          onConfirm={() =>
            startTransition(async () => {
              const done = await action(new FormData(formRef.current!));
              setAsking(null);
              setResult(done);
              if (done.ok) router.refresh();
            })
          }
          onCancel={() => setAsking(null)}
        />
      ) : null}
      <div aria-live="polite">
        <Result result={result} />
      </div>
    </form>
  );
}
