// Where an ETRN run delivers: the domain's target (host:port of the customer's own server) and
// TLS policy, read when the run starts, so a target changed while mail is held applies to the
// next run and no mail is stranded at the old one. A run that cannot reach its target leaves the
// mail held and puts the reason on each held delivery, where staff and the customer see it.
import { ETRN_CONFIGURED_WHERE, etrnReady } from "./etrn-ready.ts";
import { dbWork, getDb } from "../db/client.ts";
import { queueQuery } from "../db/pg-pool.ts";
import { parseHostPort } from "../validation/host-port.ts";

export type EtrnTlsPolicy = "opportunistic" | "required" | "none";

export interface EtrnTarget {
  domainId: string;
  domain: string;
  customerId: string;
  host: string;
  port: number;
  tls: EtrnTlsPolicy;
}

/** The domain's target now, or null when the domain no longer has ETRN (disabled, no target, customer suspended). */
export async function loadEtrnTarget(domainId: string): Promise<EtrnTarget | null> {
  const domain = await dbWork(() =>
    getDb().domain.findUnique({
      where: { id: domainId },
      select: { id: true, name: true, customerId: true, etrnEnabled: true, etrnTarget: true, etrnTls: true, customer: { select: { status: true } } },
    }),
  );
  if (!domain || !etrnReady(domain)) return null;
  return {
    domainId: domain.id,
    domain: domain.name,
    customerId: domain.customerId,
    ...parseHostPort(domain.etrnTarget),
    tls: domain.etrnTls,
  };
}

/** Rows one statement notes a failure on: a short lock and a bounded statement, however much is held. */
const FAILURE_BATCH = 1000;

/**
 * The target could not take mail (refused, unreachable, no TLS where required): say so on every
 * held delivery of the domain, in batches of FAILURE_BATCH rows, and only on those that do not
 * say it already, so a target that keeps failing the same way costs one read per run, not a
 * rewrite of the whole queue. Deliveries another session holds (SKIP LOCKED) are left alone.
 */
export async function recordEtrnTargetFailure(domainId: string, error: string): Promise<number> {
  const text = error.slice(0, 500);
  let total = 0;
  // bounded: each round notes FAILURE_BATCH rows that did not say it, so the held count ends it;
  // the cap keeps a queue that grows as fast as it is noted from holding the run
  for (let round = 0; round < 1000; round++) {
    const [{ noted }] = await queueQuery<{ noted: number }>(
      `
      WITH noted AS (
        UPDATE delivery SET last_error = $2 WHERE id IN (
          SELECT id FROM delivery WHERE domain_id = $1::uuid AND state = 'queued' AND last_error IS DISTINCT FROM $2
          ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING 1)
      SELECT count(*)::int AS noted FROM noted`,
      [domainId, text, FAILURE_BATCH],
      undefined,
      "relaxed",
    );
    total += noted;
    if (noted < FAILURE_BATCH) break;
  }
  return total;
}

/** Whether any domain has ETRN enabled: the MX advertises ETRN (and AUTH, which exists for it) only then. */
export async function etrnInUse(): Promise<boolean> {
  const domain = await dbWork(() => getDb().domain.findFirst({ where: ETRN_CONFIGURED_WHERE, select: { id: true } }));
  return domain !== null;
}
