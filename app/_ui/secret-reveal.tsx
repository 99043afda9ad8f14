"use client";
// A secret shown exactly once, with copy buttons for it and for its ready-made configuration.
import { useState } from "react";

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="rounded-md border border-slate-300 bg-white px-3 py-1 text-xs font-medium hover:bg-slate-50"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 2000);
        } catch {
          setCopied(false);
        }
      }}
    >
      {copied ? "Copied" : label}
    </button>
  );
}

export function SecretReveal({ label, value, snippet, note }: { label: string; value: string; snippet?: string; note?: string }) {
  return (
    <div className="mt-3 space-y-3 rounded-md border border-amber-300 bg-amber-50 p-4 text-sm" data-testid="secret-reveal">
      <p className="font-medium text-amber-900">{label} — shown once only. Copy it now; it cannot be shown again.</p>
      <div className="flex flex-wrap items-center gap-2">
        <code className="rounded bg-white px-2 py-1 font-mono text-base break-all select-all" data-testid="secret-value">
          {value}
        </code>
        <CopyButton text={value} label="Copy secret" />
      </div>
      {note ? <p className="text-amber-900">{note}</p> : null}
      {snippet ? (
        <div className="space-y-2">
          <div className="flex items-center justify-between gap-2">
            <span className="font-medium">fetchmail configuration</span>
            <CopyButton text={snippet} label="Copy configuration" />
          </div>
          <pre className="overflow-x-auto rounded bg-slate-900 p-3 font-mono text-xs text-slate-100" data-testid="rc-snippet">
            {snippet}
          </pre>
        </div>
      ) : null}
    </div>
  );
}
