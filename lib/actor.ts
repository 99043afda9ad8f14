// Who is acting. Every core function takes the actor explicitly; a customer actor is confined
// to its own customer by `customerScope`, which never returns an empty filter for a customer.
import { MailharborError } from "./errors.ts";

export type Actor =
  | { type: "staff"; id: string; label: string }
  | { type: "customer"; id: string; label: string; customerId: string }
  | { type: "cli"; label: string }
  | { type: "mailer"; label: string };

export const CLI_ACTOR: Actor = { type: "cli", label: "cli" };
export const MAILER_ACTOR: Actor = { type: "mailer", label: "mailer" };

/** The `where` fragment that confines a query to what the actor may see. */
export function customerScope(actor: Actor): { customerId?: string } {
  if (actor.type !== "customer") return {};
  if (typeof actor.customerId !== "string" || actor.customerId.length === 0) {
    throw new MailharborError("FORBIDDEN", "customer actor without a customer");
  }
  return { customerId: actor.customerId };
}

/** Staff, the CLI and the mailer act for the ISP; customers only for themselves. */
export function requireOperator(actor: Actor): void {
  if (actor.type === "customer") throw new MailharborError("FORBIDDEN", "only ISP staff may do this");
}

export function actorId(actor: Actor): string | null {
  return actor.type === "staff" || actor.type === "customer" ? actor.id : null;
}
