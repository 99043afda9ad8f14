"use client";
import { useFormStatus } from "react-dom";
import { buttonClass } from "./page-header.tsx";

export function SubmitButton({ children, variant = "primary", name, value }: {
  children: React.ReactNode;
  variant?: keyof typeof buttonClass;
  name?: string;
  value?: string;
}) {
  const { pending } = useFormStatus();
  return (
    <button type="submit" name={name} value={value} disabled={pending} className={buttonClass[variant]}>
      {children}
    </button>
  );
}
