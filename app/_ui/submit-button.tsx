"use client";
import { useFormStatus } from "react-dom";
import { buttonClass } from "./page-header.tsx";

export function SubmitButton({
  children,
  variant = "primary",
  name,
  value,
  disabled = false,
  title,
}: {
  children: React.ReactNode;
  variant?: keyof typeof buttonClass;
  name?: string;
  value?: string;
  /** nothing to act on (the title says why) */
  disabled?: boolean;
  title?: string;
}) {
  const { pending } = useFormStatus();
  return (
    <button type="submit" name={name} value={value} disabled={pending || disabled} title={title} className={buttonClass[variant]}>
      {children}
    </button>
  );
}
