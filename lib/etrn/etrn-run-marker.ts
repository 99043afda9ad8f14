// One ETRN run per domain at a time, across every mailer on the database. RFC 1985 §4 asks the
// server to start a queue run for the node; a run already going is that run, so a request while
// it goes is answered 250 and only asks for one more run when it ends (a follow-up), however
// many requests come. The marker is a row per domain with an expiry that the owning mailer
// renews while the run goes: the marker of a mailer that died lapses by itself.
import { queueQuery } from "../db/pg-pool.ts";

/** How long a marker lives without renewal; the owner renews it at a third of this. */
export const ETRN_RUN_MARKER_SECONDS = 60;

/**
 * Claims the domains that have no run in progress (or whose marker lapsed) for `owner`, and
 * asks for a follow-up on the others, in one statement. Returns the ids claimed.
 */
export async function claimEtrnRuns(domainIds: string[], owner: string): Promise<string[]> {
  if (domainIds.length === 0) return [];
  // The data-modifying CTEs run on one snapshot: "joined" touches only rows that existed and were
  // not taken over by "claimed", so no row is changed twice.
  const rows = await queueQuery<{ domain_id: string }>(
    `
    WITH wanted AS (SELECT DISTINCT unnest($1::uuid[]) AS domain_id),
    claimed AS (
      INSERT INTO etrn_run (domain_id, owner, expires_at)
      SELECT domain_id, $2, now() + make_interval(secs => $3) FROM wanted
      ON CONFLICT (domain_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at, follow_up = false
        WHERE etrn_run.expires_at < now()
      RETURNING domain_id
    ),
    joined AS (
      UPDATE etrn_run SET follow_up = true
      WHERE domain_id IN (SELECT domain_id FROM wanted) AND domain_id NOT IN (SELECT domain_id FROM claimed) AND NOT follow_up
      RETURNING domain_id
    )
    SELECT domain_id::text AS domain_id FROM claimed`,
    [domainIds, owner, ETRN_RUN_MARKER_SECONDS],
  );
  return rows.map((r) => r.domain_id);
}

/** Extends the owner's markers; returns the ids still held (a marker that lapsed and was taken over is gone). */
export async function renewEtrnRuns(domainIds: string[], owner: string): Promise<string[]> {
  if (domainIds.length === 0) return [];
  const rows = await queueQuery<{ domain_id: string }>(
    `
    UPDATE etrn_run SET expires_at = now() + make_interval(secs => $3)
    WHERE domain_id = ANY($1::uuid[]) AND owner = $2 RETURNING domain_id::text AS domain_id`,
    [domainIds, owner, ETRN_RUN_MARKER_SECONDS],
    undefined,
    "relaxed",
  );
  return rows.map((r) => r.domain_id);
}

/** Ends the owner's run of a domain; true when a follow-up was asked for meanwhile (by any mailer). */
export async function finishEtrnRun(domainId: string, owner: string): Promise<boolean> {
  const rows = await queueQuery<{ follow_up: boolean }>("DELETE FROM etrn_run WHERE domain_id = $1::uuid AND owner = $2 RETURNING follow_up", [
    domainId,
    owner,
  ]);
  return rows[0]?.follow_up ?? false;
}
