// Portal sign-in (next-auth 4, Credentials provider, JWT sessions) and the step from a session to an
// Actor. The session token only names the user and the session version it signed in under: every
// request re-reads the user, so a disabled or deleted user, a changed role or customer, or a
// password change (which raises the version) takes effect at once.
//
// A signed-in user may still have a step to finish before anything else (a one-time password to
// change, or for staff under PORTAL_STAFF_TOTP=required two-factor sign-in to set up): then
// getPortalActor, which every page, server action and route handler goes through, sends them to
// that step's page, and only that page, its form and signing out work.
import { redirect } from "next/navigation";
import type { AuthOptions, RequestInternal, User } from "next-auth";
import { getServerSession } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { cache } from "react";
import type { Actor } from "@/lib/actor.ts";
import { portalThrottle } from "@/lib/auth/portal-throttle.ts";
import { getConfig } from "@/lib/config/config.ts";
import { dbWork, getDb } from "@/lib/db/client.ts";
import { logger } from "@/lib/log/logger.ts";
import { verifySecondFactor } from "@/lib/users/two-factor.ts";
import { recordPortalSignIn, verifyPortalLogin } from "@/lib/users/users.ts";

/** next-auth turns an error thrown in `authorize` into `?error=<message>`; the login page maps these. */
export const SIGN_IN_ERRORS = {
  throttled: "THROTTLED",
  unavailable: "UNAVAILABLE",
  /** the password was right; the account has two-factor sign-in: ask for the code */
  codeRequired: "CODE_REQUIRED",
  codeWrong: "CODE_WRONG",
} as const;

const log = logger.child({ component: "portal-auth" });

/**
 * The client's address: the portal's server (scripts/portal-server.ts) puts the socket's peer into
 * X-Forwarded-For, or, behind a trusted proxy (TRUST_PROXY=1), the proxy appends the client to it.
 */
export function clientAddress(headers: Record<string, unknown> | undefined): string {
  const value = String(headers?.["x-forwarded-for"] ?? "");
  return (
    value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .pop() ?? "unknown"
  );
}

async function authorize(credentials: Record<"email" | "password" | "code", string> | undefined, req: Pick<RequestInternal, "headers">): Promise<User | null> {
  const email = String(credentials?.email ?? "")
    .trim()
    .toLowerCase();
  const password = String(credentials?.password ?? "");
  const code = String(credentials?.code ?? "").trim();
  const address = clientAddress(req.headers);
  const { byAddress, byAccount } = portalThrottle();
  if (byAddress.lockedFor(address) > 0) {
    log.warn({ code: "PORTAL_LOGIN_THROTTLED", email, address }, "portal login refused: too many failures from this address");
    throw new Error(SIGN_IN_ERRORS.throttled);
  }
  // the delay comes before the answer whatever it will be, so its length tells nothing
  const delay = Math.max(byAddress.delayFor(address), byAccount.delayFor(email));
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  let identity;
  try {
    identity = email && password ? await verifyPortalLogin(email, password) : null;
  } catch (error) {
    log.error({ code: (error as { code?: string }).code ?? "INTERNAL", err: error }, "portal login could not be checked");
    throw new Error(SIGN_IN_ERRORS.unavailable);
  }
  if (!identity) {
    byAddress.fail(address);
    byAccount.fail(email);
    log.info({ code: "PORTAL_LOGIN_FAILED", email, address }, "portal login failed");
    return null;
  }
  if (identity.twoFactor) {
    // the password alone proves nothing more than this answer; the account's counter stays until the code is right
    if (!code) throw new Error(SIGN_IN_ERRORS.codeRequired);
    let ok;
    try {
      ok = await verifySecondFactor(identity, code, address);
    } catch (error) {
      if ((error as { code?: string }).code === "THROTTLED") {
        log.warn({ code: "PORTAL_LOGIN_THROTTLED", email, address }, "portal login refused: too many wrong codes");
        throw new Error(SIGN_IN_ERRORS.throttled);
      }
      log.error({ code: (error as { code?: string }).code ?? "INTERNAL", err: error }, "portal login code could not be checked");
      throw new Error(SIGN_IN_ERRORS.unavailable);
    }
    if (!ok) {
      log.info({ code: "PORTAL_LOGIN_CODE_FAILED", email, address }, "portal login failed: wrong two-factor code");
      throw new Error(SIGN_IN_ERRORS.codeWrong);
    }
  }
  // only the account's counter: a success on one account must not clear an address that sprays others
  byAccount.succeed(email);
  await recordPortalSignIn(identity.id);
  // the token carries only the user id and session version; role and customer are read afresh on every request
  return { id: identity.id, email: identity.email, sessionVersion: identity.sessionVersion } as User;
}

export const authOptions: AuthOptions = {
  session: { strategy: "jwt", maxAge: 12 * 3600 },
  pages: { signIn: "/login", error: "/login" },
  providers: [
    CredentialsProvider({
      name: "e-mail and password",
      credentials: {
        email: { label: "E-mail", type: "email" },
        password: { label: "Password", type: "password" },
        code: { label: "Code", type: "text" },
      },
      authorize,
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) {
        token.sub = user.id;
        token.sessionVersion = (user as User & { sessionVersion: number }).sessionVersion;
      }
      return token;
    },
    session({ session, token }) {
      return { ...session, userId: token.sub, sessionVersion: token.sessionVersion };
    },
  },
};

/** A step a signed-in user must finish before anything else, and the page where it is done. */
export const PENDING_STEPS = {
  password: "/setup/password",
  "two-factor": "/setup/two-factor",
} as const;
export type PendingStep = keyof typeof PENDING_STEPS;

type SessionActor = Extract<Actor, { type: "staff" | "customer" }>;

/**
 * The signed-in portal user as an Actor with the step they must finish first (null: none), or null
 * when nobody (or a disabled user) is signed in. Memoized per request (React `cache`), so a layout
 * and its page read the user once. Only the pages of the steps use it directly.
 */
export const getPortalSession = cache(async (): Promise<{ actor: SessionActor; pending: PendingStep | null } | null> => {
  const session = (await getServerSession(authOptions)) as { userId?: string; sessionVersion?: unknown } | null;
  const userId = session?.userId;
  if (!userId || !/^[0-9a-f-]{36}$/i.test(userId)) return null;
  const user = await dbWork(() =>
    getDb().portalUser.findUnique({
      where: { id: userId },
      select: { id: true, email: true, role: true, customerId: true, disabled: true, sessionVersion: true, mustChangePassword: true, totpEnabledAt: true },
    }),
  );
  if (!user || user.disabled) return null;
  // signed in before the password last changed (or before sessions had versions): over
  if (session?.sessionVersion !== user.sessionVersion) return null;
  const pending: PendingStep | null = user.mustChangePassword
    ? "password"
    : user.role === "staff" && !user.totpEnabledAt && getConfig().PORTAL_STAFF_TOTP === "required"
      ? "two-factor"
      : null;
  if (user.role === "staff") return { actor: { type: "staff", id: user.id, label: user.email }, pending };
  if (!user.customerId) return null;
  return { actor: { type: "customer", id: user.id, label: user.email, customerId: user.customerId }, pending };
});

/**
 * The signed-in portal user as an Actor, or null when nobody (or a disabled user) is signed in. A
 * user with a step to finish (`allow` aside) is redirected to that step's page instead: this is
 * where every page, server action and route handler is held until it is done.
 */
export async function getPortalActor(allow?: PendingStep): Promise<Actor | null> {
  const session = await getPortalSession();
  if (!session) return null;
  if (session.pending && session.pending !== allow) redirect(PENDING_STEPS[session.pending]);
  return session.actor;
}
