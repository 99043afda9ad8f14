// Checks an ODMR login's credentials (RFC 4954 PLAIN/LOGIN, RFC 2195 CRAM-MD5). A disabled login,
// a suspended customer or an expired secret fails exactly like a wrong secret.
import { cramMd5Matches } from "../auth/cram-md5.ts";
import { verifyAgainstNothing, verifyPassword } from "../auth/password.ts";
import { decryptSecret, getServerKey } from "../auth/secret-box.ts";
import { dbWork, getDb } from "../db/client.ts";
import { normalizeLoginName } from "../validation/login-name.ts";

export interface AuthenticatedLogin {
  loginId: string;
  login: string;
  customerId: string;
  /** the secret that was presented: once it expires (rotation) or is revoked, the login's sessions end */
  secretId: string;
}

export type VerifyResult = { ok: true; login: AuthenticatedLogin } | { ok: false; reason: string };

/** Loads a login with its live secrets, for authentication only (no actor: the caller is the mailer). */
async function unsafeLoadLoginForAuth(name: string) {
  const login = normalizeLoginName(name);
  if (!login) return null;
  return dbWork(() =>
    getDb().odmrLogin.findUnique({
      where: { login },
      select: {
        id: true,
        login: true,
        customerId: true,
        status: true,
        customer: { select: { status: true } },
        secrets: {
          where: liveSecretWhere(),
          select: { id: true, passwordHash: true, secretEnc: true },
          orderBy: { createdAt: "desc" },
        },
      },
    }),
  );
}

type Loaded = NonNullable<Awaited<ReturnType<typeof unsafeLoadLoginForAuth>>>;

/** Why a login may not be used at all (null: it may); AUTH and every re-check of a running session ask this. */
export function loginProblem(login: { status: string; customer: { status: string } } | null): string | null {
  if (!login) return "unknown login";
  if (login.status !== "active") return "login disabled";
  if (login.customer.status !== "active") return "customer suspended";
  return null;
}

/** A secret is live until its expiry: the condition AUTH loads secrets with. */
export function liveSecretWhere(now = new Date()) {
  return { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
}

/** The same condition in SQL, over odmr_secret as `alias` (the re-checks of a running session, collectable-domains.ts). */
export function liveSecretSql(alias: string): string {
  return `(${alias}.expires_at IS NULL OR ${alias}.expires_at > now())`;
}

function usable(login: Loaded | null): string | null {
  const problem = loginProblem(login);
  if (problem) return problem;
  if (login!.secrets.length === 0) return "no live secret";
  return null;
}

function success(login: Loaded, secretId: string): VerifyResult {
  return { ok: true, login: { loginId: login.id, login: login.login, customerId: login.customerId, secretId } };
}

export async function verifyOdmrPassword(name: string, password: string): Promise<VerifyResult> {
  const login = await unsafeLoadLoginForAuth(name);
  const problem = usable(login);
  if (problem) {
    await verifyAgainstNothing(password);
    return { ok: false, reason: problem };
  }
  for (const secret of login!.secrets) {
    if (await verifyPassword(secret.passwordHash, password)) return success(login!, secret.id);
  }
  return { ok: false, reason: "wrong secret" };
}

export async function verifyOdmrCramMd5(name: string, challenge: string, digest: string): Promise<VerifyResult> {
  const login = await unsafeLoadLoginForAuth(name);
  const problem = usable(login);
  if (problem) return { ok: false, reason: problem };
  const key = getServerKey();
  for (const secret of login!.secrets) {
    if (cramMd5Matches(decryptSecret(secret.secretEnc, key), challenge, digest)) return success(login!, secret.id);
  }
  return { ok: false, reason: "wrong secret" };
}

/** Records when and from where a login was last used. */
export async function recordLoginUse(loginId: string, address: string): Promise<void> {
  await dbWork(() => getDb().odmrLogin.update({ where: { id: loginId }, data: { lastUsedAt: new Date(), lastUsedIp: address } }));
}
