// Reads a submitted form through a zod schema; a problem becomes INVALID_INPUT naming the field.
import type { z } from "zod";
import { parseInput } from "@/lib/validation/parse-input.ts";

/** Single-valued fields as strings (files are left out); empty fields are omitted. */
export function formFields(form: FormData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of form.entries()) {
    if (typeof value === "string" && value.trim() !== "" && !(key in out)) out[key] = value;
  }
  return out;
}

export function parseForm<S extends z.ZodType>(schema: S, form: FormData, extra: Record<string, unknown> = {}): z.output<S> {
  return parseInput(schema, { ...formFields(form), ...extra });
}

/** A checkbox: present means on. */
export function checked(form: FormData, name: string): boolean {
  return form.get(name) !== null;
}
