// Portal sign-in (next-auth 4, Credentials provider, JWT sessions) and the step from a session to an
// Actor. The session token only names the user and the session version it signed in under: every
// request re-reads the user, so a disabled or deleted user, a changed role or customer, or a
// password change (which raises the version) takes effect at once.
import type { AuthOptions, RequestInternal, User } from "next-auth";
import { getServerSession } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { cache } from "react";
import type { Actor } from "../actor.ts";
import { dbWork, getDb } from "../db/client.ts";
import { logger } from "../log/logger.ts";
import { verifyPortalLogin } from "../users/users.ts";
import { portalThrottle } from "./portal-throttle.ts";

/** next-auth turns an error thrown in `authorize` into `?error=<message>`; the login page maps these. */
export const SIGN_IN_ERRORS = {
  throttled: "THROTTLED",
  unavailable: "UNAVAILABLE",
} as const;

const log = logger.child({ component: "portal-auth" });

/**
 * The client's address: the portal's server (scripts/portal-server.ts) puts the socket's peer into
 * X-Forwarded-For, or, behind a trusted proxy (TRUST_PROXY=1), the proxy appends the client to it.
 */
export function clientAddress(headers: Record<string, unknown> | undefined): string {
  const value = String(headers?.["x-forwarded-for"] ?? "");
  return value.split(",").map((s) => s.trim()).filter(Boolean).pop() ?? "unknown";
}

async function authorize(credentials: Record<"email" | "password", string> | undefined, req: Pick<RequestInternal, "headers">): Promise<User | null> {
  const email = String(credentials?.email ?? "").trim().toLowerCase();
  const password = String(credentials?.password ?? "");
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
  // only the account's counter: a success on one account must not clear an address that sprays others
  byAccount.succeed(email);
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

/**
 * The signed-in portal user as an Actor, or null when nobody (or a disabled user) is signed in.
 * Memoized per request (React `cache`), so a layout and its page read the user once.
 */
export const getPortalActor = cache(async (): Promise<Actor | null> => {
  const session = (await getServerSession(authOptions)) as { userId?: string; sessionVersion?: unknown } | null;
  const userId = session?.userId;
  if (!userId || !/^[0-9a-f-]{36}$/i.test(userId)) return null;
  const user = await dbWork(() => getDb().portalUser.findUnique({
    where: { id: userId },
    select: { id: true, email: true, role: true, customerId: true, disabled: true, sessionVersion: true },
  }));
  if (!user || user.disabled) return null;
  // signed in before the password last changed (or before sessions had versions): over
  if (session?.sessionVersion !== user.sessionVersion) return null;
  if (user.role === "staff") return { type: "staff", id: user.id, label: user.email };
  if (!user.customerId) return null;
  return { type: "customer", id: user.id, label: user.email, customerId: user.customerId };
});
