// Which domains an authenticated ODMR login may release with ATRN (RFC 2645 §5: the provider
// must check that the login is authorised for every domain it asks for) or, after AUTH on the
// MX, with ETRN (RFC 1985). A login with allDomains collects all of its customer's domains,
// otherwise only its LoginDomain rows; either way only domains of an active customer, through an
// active login whose secret used at AUTH is still live, that have the asked-for release (ATRN or
// ETRN) enabled. Asked at ATRN and again while an ATRN session runs (lib/release/decide-atrn.ts),
// so it is one statement through the pool (pg-pool.ts): through Prisma it was four statements
// and most of the time an ATRN reply took.
import { liveSecretSql, loginProblem, type AuthenticatedLogin } from "./verify-odmr-login.ts";
import { queueQuery } from "../db/pg-pool.ts";

export interface CollectableDomain {
  id: string;
  name: string;
}

export type CollectorAuthority = { ok: true; domains: CollectableDomain[] } | { ok: false; reason: string };

type Via = "atrn" | "etrn";

/** SQL: domain `d` is one that login `l` collects by its own settings (its and its customer's status are checked apart). */
function collectsSql(via: Via): string {
  return `d.customer_id = l.customer_id AND d.${via === "atrn" ? "atrn_enabled" : "etrn_enabled"}
    AND (l.all_domains OR EXISTS (SELECT 1 FROM login_domain ld WHERE ld.login_id = l.id AND ld.domain_id = d.id))`;
}

/** What the login may collect now, or why it may collect nothing at all. */
export async function checkCollector(login: AuthenticatedLogin, via: Via = "atrn"): Promise<CollectorAuthority> {
  const [row] = await queueQuery<{ customerId: string; status: string; customerStatus: string; secretLive: boolean; domains: CollectableDomain[] }>(
    `
    SELECT l.customer_id::text AS "customerId", l.status::text AS status, c.status::text AS "customerStatus",
      EXISTS (SELECT 1 FROM odmr_secret s WHERE s.id = $2::uuid AND s.login_id = l.id AND ${liveSecretSql("s")}) AS "secretLive",
      COALESCE((SELECT json_agg(json_build_object('id', d.id, 'name', d.name) ORDER BY d.name) FROM domain d WHERE ${collectsSql(via)}), '[]') AS domains
    FROM odmr_login l JOIN customer c ON c.id = l.customer_id
    WHERE l.id = $1::uuid`,
    [login.loginId, login.secretId],
    `collector-${via}`,
  );
  const problem =
    row && row.customerId !== login.customerId ? "unknown login" : loginProblem(row ? { status: row.status, customer: { status: row.customerStatus } } : null);
  if (problem) return { ok: false, reason: problem };
  if (!row.secretLive) return { ok: false, reason: "secret revoked or expired" };
  return { ok: true, domains: row.domains };
}

export async function listCollectableDomains(login: AuthenticatedLogin, via: Via = "atrn"): Promise<CollectableDomain[]> {
  const authority = await checkCollector(login, via);
  return authority.ok ? authority.domains : [];
}

/** The names of the domains a login collects with ATRN by its own settings, whatever its status (the connection guide's list). */
export async function domainNamesOfLogin(loginId: string): Promise<string[]> {
  const rows = await queueQuery<{ name: string }>(
    `SELECT d.name FROM odmr_login l JOIN domain d ON ${collectsSql("atrn")} WHERE l.id = $1::uuid ORDER BY d.name`,
    [loginId],
  );
  return rows.map((r) => r.name);
}
