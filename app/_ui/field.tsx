// Labelled form fields: every input has a visible label and, where useful, a hint tied to it.
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";

function Hint({ id, children }: { id: string; children?: ReactNode }) {
  return children ? (
    <p id={id} className="mt-1 text-xs text-slate-500">
      {children}
    </p>
  ) : null;
}

export function Field({ label, hint, className = "", ...input }: InputHTMLAttributes<HTMLInputElement> & { label: string; name: string; hint?: ReactNode }) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      <div className="mt-1">
        <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      </div>
      <Hint id={`${id}-hint`}>{hint}</Hint>
    </div>
  );
}

export function TextArea({
  label,
  hint,
  className = "",
  ...input
}: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string; name: string; hint?: ReactNode }) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      <div className="mt-1">
        <textarea id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      </div>
      <Hint id={`${id}-hint`}>{hint}</Hint>
    </div>
  );
}

export function Select({
  label,
  hint,
  options,
  className = "",
  ...select
}: SelectHTMLAttributes<HTMLSelectElement> & {
  label: string;
  name: string;
  hint?: ReactNode;
  options: { value: string; label: string }[];
}) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      <div className="mt-1">
        <select id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...select}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </div>
      <Hint id={`${id}-hint`}>{hint}</Hint>
    </div>
  );
}

export function Checkbox({ label, hint, className = "", ...input }: InputHTMLAttributes<HTMLInputElement> & { label: string; name: string; hint?: ReactNode }) {
  const id = useId();
  return (
    <div className={`flex items-start gap-2 ${className}`}>
      <input id={id} type="checkbox" className="mt-0.5" aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      <div>
        <label htmlFor={id}>{label}</label>
        <Hint id={`${id}-hint`}>{hint}</Hint>
      </div>
    </div>
  );
}
