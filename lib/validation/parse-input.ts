import type { z } from "zod";
import { MailharborError } from "../errors.ts";

/** Parses with a zod schema; the first problem becomes an INVALID_INPUT error naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.length ? `${issue.path.join(".")}: ` : "";
  throw new MailharborError("INVALID_INPUT", `${field}${issue.message}`, { field: issue.path.join(".") });
}
