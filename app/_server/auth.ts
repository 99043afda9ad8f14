// Session and role checks for pages, route handlers and server actions. Each of them calls one of
// these itself; a layout's check alone would not protect a server action or a route handler.
// Through getPortalActor, a user with a step to finish first (a one-time password, a required
// two-factor set-up) is sent to that step's page from all of them.
import { notFound, redirect } from "next/navigation";
import { getPortalActor, getPortalSession, PENDING_STEPS, type PendingStep } from "./portal-session.ts";
import { loginPathForThisRequest } from "./return-path.ts";
import type { Actor } from "@/lib/actor.ts";

export type StaffActor = Extract<Actor, { type: "staff" }>;
export type CustomerActor = Extract<Actor, { type: "customer" }>;
export type PortalActor = StaffActor | CustomerActor;

/** The signed-in user, or a redirect to the login page (which comes back here afterwards); `allow`: also while that step is pending. */
export async function requireUser(allow?: PendingStep): Promise<PortalActor> {
  const actor = await getPortalActor(allow);
  if (!actor || (actor.type !== "staff" && actor.type !== "customer")) redirect(await loginPathForThisRequest());
  return actor;
}

/** Staff only; anyone else gets the same "not found" as for a page that does not exist. */
export async function requireStaff(): Promise<StaffActor> {
  const actor = await requireUser();
  if (actor.type !== "staff") notFound();
  return actor;
}

export async function requireCustomer(): Promise<CustomerActor> {
  const actor = await requireUser();
  if (actor.type !== "customer") notFound();
  return actor;
}

/** The page of a pending step: only for a user who has that step to do (anyone else goes on to "/"). */
export async function requirePendingStep(step: PendingStep): Promise<PortalActor> {
  const session = await getPortalSession();
  if (!session) redirect("/login");
  if (session.pending !== step) redirect(session.pending ? PENDING_STEPS[session.pending] : "/");
  return session.actor;
}
