import type { z } from "zod";
import { MailharborError } from "../errors.ts";

/**
 * A field that is missing altogether (an empty form field is left out) gets words a person can act
 * on instead of zod's "Invalid input: expected string, received undefined"; a schema's own
 * messages still win.
 */
function missingField(issue: { code: string; input?: unknown }): string | undefined {
  return issue.code === "invalid_type" && issue.input === undefined ? "this field is required" : undefined;
}

/** Parses with a zod schema; the first problem becomes an INVALID_INPUT error naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { error: missingField });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.length ? `${issue.path.join(".")}: ` : "";
  throw new MailharborError("INVALID_INPUT", `${field}${issue.message}`, { field: issue.path.join(".") });
}
