// Session and role checks, one rule for every portal entry: pages (withPage), server actions
// (runAction in action-result.ts) and route handlers (withRoute). Each entry checks the role itself (a layout's
// check alone would not protect an action or a route handler), and all of them read a core error the
// same way, so another customer's id, a malformed id and a staff URL asked for by a customer look
// exactly like an object that does not exist, whichever kind of entry is asked.
import { notFound, redirect } from "next/navigation";
import type { ReactNode } from "react";
import { getPortalActor, getPortalSession, PENDING_STEPS, type PendingStep } from "./portal-session.ts";
import { loginPathForThisRequest } from "./return-path.ts";
import type { Actor } from "@/lib/actor.ts";
import { errorCode } from "@/lib/errors.ts";

export type StaffActor = Extract<Actor, { type: "staff" }>;
export type CustomerActor = Extract<Actor, { type: "customer" }>;
export type PortalActor = StaffActor | CustomerActor;

export type Role = "staff" | "customer" | "any";
export type RoleActor<R extends Role> = R extends "staff" ? StaffActor : R extends "customer" ? CustomerActor : PortalActor;

/**
 * The signed-in portal user if it has `role`; "signed-out" without a session, "not-found" for the
 * wrong role (never "forbidden": a customer learns nothing about which staff URLs exist). A user
 * with a step to finish first is redirected to that step's page (`allow`: the entry of that step).
 */
export async function roleActor<R extends Role>(role: R, allow?: PendingStep): Promise<RoleActor<R> | "signed-out" | "not-found"> {
  const actor = await getPortalActor(allow);
  if (!actor || (actor.type !== "staff" && actor.type !== "customer")) return "signed-out";
  if (role !== "any" && actor.type !== role) return "not-found";
  return actor as RoleActor<R>;
}

/**
 * What a core error means to the person who asked: "not-found" (no such object, someone else's, or
 * not theirs to see), "invalid" (the input is refused: for a page or a download that is its URL, so
 * it is "not found" too; for a form, a message to show), "unavailable" (the database is down) or
 * "error" (a fault on our side, logged).
 */
export type Refusal = "not-found" | "invalid" | "unavailable" | "error";

export function refusalFor(error: unknown): Refusal {
  switch (errorCode(error)) {
    case "NOT_FOUND":
    case "FORBIDDEN":
      return "not-found";
    case "DB_UNAVAILABLE":
      return "unavailable";
    case "INTERNAL":
      return "error";
    default:
      return "invalid";
  }
}

/** A URL's answer to a refusal: "not-found" and "invalid" are the not-found answer; the rest is an error. */
function urlNotFound(error: unknown): boolean {
  const refusal = refusalFor(error);
  return refusal === "not-found" || refusal === "invalid";
}

/** The signed-in user for a page of `role`: signed out goes to the login page (and back afterwards), the wrong role gets the not-found page. */
export async function requireRole<R extends Role>(role: R, allow?: PendingStep): Promise<RoleActor<R>> {
  const actor = await roleActor(role, allow);
  if (actor === "signed-out") redirect(await loginPathForThisRequest());
  if (actor === "not-found") notFound();
  return actor;
}

/** A page for `role`: a core refusal while it loads (another customer's id, a malformed id) is the not-found page. */
export function withPage<R extends Role, P>(role: R, render: (actor: RoleActor<R>, props: P) => Promise<ReactNode>): (props: P) => Promise<ReactNode> {
  return async (props) => {
    const actor = await requireRole(role);
    try {
      return await render(actor, props);
    } catch (error) {
      if (urlNotFound(error)) notFound();
      throw error;
    }
  };
}

const NOT_FOUND_RESPONSE = () => new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });

/**
 * A route handler (a download) for `role`, answering exactly as a page would: signed out, a redirect
 * to the login page; the wrong role or a core refusal, 404 "Not found".
 */
export function withRoute<R extends Role, C>(
  role: R,
  handle: (actor: RoleActor<R>, request: Request, context: C) => Promise<Response>,
): (request: Request, context: C) => Promise<Response> {
  return async (request, context) => {
    const actor = await roleActor(role);
    if (actor === "signed-out") redirect(await loginPathForThisRequest());
    if (actor === "not-found") return NOT_FOUND_RESPONSE();
    try {
      return await handle(actor, request, context);
    } catch (error) {
      if (urlNotFound(error)) return NOT_FOUND_RESPONSE();
      throw error;
    }
  };
}

/** The page of a pending step: only for a user who has that step to do (anyone else goes on to "/"). */
export async function requirePendingStep(step: PendingStep): Promise<PortalActor> {
  const session = await getPortalSession();
  if (!session) redirect("/login");
  if (session.pending !== step) redirect(session.pending ? PENDING_STEPS[session.pending] : "/");
  return session.actor;
}
