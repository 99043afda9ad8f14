// The ATRN decision (RFC 2645 §4.2.3: 250 or 453): which of the requested domains hold mail.
// One probe of the delivery(domain_id, state, id) index per domain, so the answer takes
// milliseconds however much mail other domains hold.
import { heldSql } from "./delivery-state.ts";
import { queueQuery } from "../db/pg-pool.ts";

export async function domainsWithHeldMail(domainIds: string[]): Promise<Set<string>> {
  if (domainIds.length === 0) return new Set();
  const rows = await queueQuery<{ id: string }>(
    `
    SELECT r.id::text AS id FROM unnest($1::uuid[]) AS r(id)
    WHERE EXISTS (SELECT 1 FROM delivery d WHERE d.domain_id = r.id AND ${heldSql("d")})`,
    [domainIds],
  );
  return new Set(rows.map((r) => r.id));
}
