// Page data loads. A core refusal of an id (NOT_FOUND, a malformed id) is the not-found page through
// withPage (auth.ts), so another customer's id looks exactly like one that does not exist.
import { isMailharborError } from "@/lib/errors.ts";

/**
 * A filtered list load: a filter value the core refuses (INVALID_INPUT, or NOT_FOUND when
 * `notFound` gives the text for it) is shown as a problem on the page instead of an error page.
 */
export async function orProblem<T>(load: Promise<T>, notFound?: string): Promise<{ result: T; problem: null } | { result: null; problem: string }> {
  try {
    return { result: await load, problem: null };
  } catch (error) {
    if (notFound !== undefined && isMailharborError(error, "NOT_FOUND")) return { result: null, problem: notFound };
    if (isMailharborError(error, "INVALID_INPUT")) return { result: null, problem: error.message };
    throw error;
  }
}

/** The given query parameters that are set, e.g. to keep the filter in paging links. */
export function pickParams(params: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => params[k]).map((k) => [k, params[k]]));
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
