// Page data loads: a core NOT_FOUND (or a malformed id) becomes the not-found page, so another
// customer's id looks exactly like one that does not exist.
import { notFound } from "next/navigation";
import { isMailharborError } from "@/lib/errors.ts";

export async function orNotFound<T>(load: Promise<T>): Promise<T> {
  try {
    return await load;
  } catch (error) {
    if (isMailharborError(error, "NOT_FOUND") || isMailharborError(error, "INVALID_INPUT") || isMailharborError(error, "FORBIDDEN")) notFound();
    throw error;
  }
}

/** searchParams values as single strings (the first of repeated ones), empty ones left out. */
export function queryParams(params: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined && first.trim() !== "") out[key] = first.trim();
  }
  return out;
}
