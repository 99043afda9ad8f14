// Which domains an authenticated ODMR login may release with ATRN (RFC 2645 §5: the provider
// must check that the login is authorised for every domain it asks for) or, after AUTH on the
// MX, with ETRN (RFC 1985). A login with allDomains collects all of its customer's domains,
// otherwise only its LoginDomain rows; either way only domains of an active customer, through an
// active login whose secret used at AUTH is still live, that have the asked-for release (ATRN or
// ETRN) enabled. Asked at ATRN and again while an ATRN session runs (lib/release/decide-atrn.ts).
import { liveSecretWhere, loginProblem, type AuthenticatedLogin } from "./verify-odmr-login.ts";
import { dbWork, getDb, type Prisma } from "../db/client.ts";

export interface CollectableDomain {
  id: string;
  name: string;
}

export type CollectorAuthority = { ok: true; domains: CollectableDomain[] } | { ok: false; reason: string };

/** What the login may collect now, or why it may collect nothing at all. */
export async function checkCollector(login: AuthenticatedLogin, via: "atrn" | "etrn" = "atrn"): Promise<CollectorAuthority> {
  return dbWork(async () => {
    const row = await getDb().odmrLogin.findUnique({
      where: { id: login.loginId },
      select: {
        customerId: true,
        status: true,
        allDomains: true,
        customer: { select: { status: true } },
        secrets: { where: { id: login.secretId, ...liveSecretWhere() }, select: { id: true } },
      },
    });
    const problem = row && row.customerId !== login.customerId ? "unknown login" : loginProblem(row);
    if (problem) return { ok: false, reason: problem };
    if (row!.secrets.length === 0) return { ok: false, reason: "secret revoked or expired" };
    const domains = await getDb().domain.findMany({
      where: collectableDomainsWhere({ id: login.loginId, customerId: row!.customerId, allDomains: row!.allDomains }, via),
      select: { id: true, name: true },
      orderBy: { name: "asc" },
    });
    return { ok: true, domains };
  });
}

/** The domains a login collects, by its own settings (the login's and customer's status are checked apart). */
export function collectableDomainsWhere(
  login: { id: string; customerId: string; allDomains: boolean },
  via: "atrn" | "etrn" = "atrn",
): Prisma.DomainWhereInput {
  return {
    customerId: login.customerId,
    ...(via === "atrn" ? { atrnEnabled: true } : { etrnEnabled: true }),
    ...(login.allDomains ? {} : { logins: { some: { loginId: login.id } } }),
  };
}

export async function listCollectableDomains(login: AuthenticatedLogin, via: "atrn" | "etrn" = "atrn"): Promise<CollectableDomain[]> {
  const authority = await checkCollector(login, via);
  return authority.ok ? authority.domains : [];
}
