// What a server action gives back to its form, and the one place that turns core errors into
// messages people can act on.
import { unstable_rethrow } from "next/navigation";
import { refusalFor, roleActor, type Role } from "./auth.ts";
import type { PendingStep } from "./portal-session.ts";
import type { Actor } from "@/lib/actor.ts";
import { errorCode, isMailharborError } from "@/lib/errors.ts";
import { logger } from "@/lib/log/logger.ts";

export interface ActionResult {
  ok: boolean;
  message?: string;
  /** the form field the message is about */
  field?: string;
  /** a secret shown once, with what to do with it */
  secret?: { label: string; value: string; snippet?: string; note?: string };
  /** recipients added from a paste or an upload */
  report?: { added: number; existing: number; rejected: { where: string; input: string; reason: string }[] };
  /** a bulk action's count, for its confirmation: messages, and the newest id counted */
  bulk?: { count: number; upTo: string | null };
  /** tells two equal results apart */
  at: number;
}

export const NOT_FOUND_MESSAGE = "Not found. It may have been deleted, or the link is wrong.";

const log = logger.child({ component: "portal" });

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
}

export function errorResult(error: unknown): ActionResult {
  const at = Date.now();
  switch (refusalFor(error)) {
    case "not-found":
      return { ok: false, message: NOT_FOUND_MESSAGE, at };
    case "unavailable":
      return { ok: false, message: "The database is not available just now. Nothing was changed; please try again in a moment.", at };
    case "invalid": {
      if (!isMailharborError(error)) break;
      const field = typeof error.details?.field === "string" && error.details.field ? error.details.field : undefined;
      const text = field && error.message.startsWith(`${field}: `) ? error.message.slice(field.length + 2) : error.message;
      // lines of a recipient list the core refused, listed like an import's report
      const rejected = Array.isArray(error.details?.rejected) ? (error.details.rejected as { line: number; input: string; reason: string }[]) : null;
      const report = rejected
        ? { added: 0, existing: 0, rejected: rejected.map((r) => ({ where: `line ${r.line}`, input: r.input, reason: r.reason })) }
        : undefined;
      return { ok: false, message: sentence(text), field, report, at };
    }
    case "error":
      break;
  }
  log.error({ code: errorCode(error), err: error }, "portal action failed");
  return { ok: false, message: "Something went wrong on our side. Nothing was changed; please try again.", at };
}

/**
 * Runs a server action for a signed-in user of the given role (the role rule of auth.ts). Without a
 * session the form says so; with the wrong role the answer is the same "not found" as for someone
 * else's object. A user with a step to finish first is sent to its page (`allow`: the action of that step).
 */
export async function runAction<A extends Actor>(
  role: Role,
  work: (actor: A) => Promise<Omit<ActionResult, "ok" | "at"> | void>,
  allow?: PendingStep,
): Promise<ActionResult> {
  try {
    const actor = await roleActor(role, allow);
    if (actor === "signed-out") return { ok: false, message: "Your session has ended. Please log in again.", at: Date.now() };
    if (actor === "not-found") return { ok: false, message: NOT_FOUND_MESSAGE, at: Date.now() };
    const result = await work(actor as A);
    return { ok: true, ...(result ?? {}), at: Date.now() };
  } catch (error) {
    unstable_rethrow(error);
    return errorResult(error);
  }
}
