// Who is calling the HTTP API: the bearer token (RFC 6750 §2.1) becomes an Actor. A token without a
// customer acts for the ISP, like staff; a token with one acts as that customer, so the core's
// customerScope confines it to its own objects exactly as it confines a customer's portal user.
import type { Actor } from "../actor.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { API_TOKEN_PATTERN, hashApiToken, type ApiScopeName } from "./api-tokens.ts";

export interface ApiCaller {
  tokenId: string;
  name: string;
  scopes: ApiScopeName[];
  customerId: string | null;
  actor: Actor;
}

/** How a token appears as the actor of audit rows and deliver-now requests. */
export function apiTokenLabel(name: string): string {
  return `api:${name}`;
}

/**
 * Checks an Authorization header value and records the token's use. Every failure (no header,
 * another scheme, a malformed, unknown or revoked token) is the same AUTH_FAILED, so a caller learns
 * nothing about which tokens exist.
 */
export async function authenticateApiToken(authorization: string | null): Promise<ApiCaller> {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
  if (!match || !API_TOKEN_PATTERN.test(match[1])) {
    throw new MailharborError("AUTH_FAILED", "a valid API token is required (Authorization: Bearer mh_…)");
  }
  const now = new Date();
  // one statement checks and stamps the token; a revoked token matches no row
  const rows = await dbWork(
    () => getDb().$queryRaw<{ id: string; name: string; scopes: ApiScopeName[]; customer_id: string | null }[]>`
    UPDATE api_token SET last_used_at = ${now}
    WHERE token_hash = ${hashApiToken(match[1])} AND revoked_at IS NULL
    RETURNING id::text, name, scopes::text[] AS scopes, customer_id::text`,
  );
  const token = rows[0];
  if (!token) throw new MailharborError("AUTH_FAILED", "the API token is unknown or revoked");
  const label = apiTokenLabel(token.name);
  const actor: Actor = token.customer_id ? { type: "customer", id: token.id, label, customerId: token.customer_id } : { type: "staff", id: token.id, label };
  return { tokenId: token.id, name: token.name, scopes: token.scopes, customerId: token.customer_id, actor };
}
