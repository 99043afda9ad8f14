// Recipient lists: the addresses a "listed" domain accepts, so the MX can refuse unknown users
// at RCPT time (550 5.1.1).
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { dbWork, getDb, type Tx } from "../db/client.ts";
import { getDomain } from "../domains/domains.ts";
import { MailharborError } from "../errors.ts";
import { parseAddress, recipientKey } from "../validation/address.ts";

export interface RecipientReport {
  added: string[];
  /** already listed: not an error */
  existing: string[];
  rejected: { line: number; input: string; reason: string }[];
}

/**
 * Validates and inserts addresses for a domain inside a transaction; reports what it did per line
 * (an entry's line is its index + 1; blank entries, such as a header that splitRecipientText blanked, are skipped).
 */
export async function insertRecipients(tx: Tx, domain: { id: string; name: string }, inputs: string[]): Promise<RecipientReport> {
  const report: RecipientReport = { added: [], existing: [], rejected: [] };
  const valid = new Map<string, number>();
  inputs.forEach((raw, index) => {
    const input = raw.trim();
    if (!input) return;
    // a bare local part means an address in this domain
    const parsed = parseAddress(input.includes("@") ? input : `${input}@${domain.name}`, { utf8: true });
    if (!parsed) return void report.rejected.push({ line: index + 1, input, reason: "not a valid address" });
    if (parsed.domain !== domain.name) return void report.rejected.push({ line: index + 1, input, reason: `not in ${domain.name}` });
    valid.set(recipientKey(parsed.address), index + 1);
  });
  if (valid.size) {
    const existing = await tx.recipient.findMany({ where: { domainId: domain.id, address: { in: [...valid.keys()] } }, select: { address: true } });
    const have = new Set(existing.map((r) => r.address));
    const fresh = [...valid.keys()].filter((a) => !have.has(a));
    await tx.recipient.createMany({ data: fresh.map((address) => ({ domainId: domain.id, address })), skipDuplicates: true });
    report.added = fresh;
    report.existing = [...have];
  }
  return report;
}

export async function addRecipients(actor: Actor, domainRef: string, inputs: string[]): Promise<RecipientReport> {
  requireOperator(actor);
  const domain = await getDomain(actor, domainRef);
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const report = await insertRecipients(tx, domain, inputs);
      if (report.added.length) {
        await recordAuditEvent(tx, actor, {
          action: "recipient.add",
          objectType: "domain",
          objectId: domain.id,
          customerId: domain.customerId,
          details: { domain: domain.name, added: report.added.slice(0, 100), count: report.added.length },
        });
      }
      return report;
    }),
  );
}

export interface RecipientRemoval {
  removed: string[];
  /** not listed: nothing to remove */
  missing: string[];
}

/** Removes listed addresses of a domain (a bare local part means one in the domain), in one transaction. */
export async function removeRecipients(actor: Actor, domainRef: string, inputs: string[]): Promise<RecipientRemoval> {
  requireOperator(actor);
  const domain = await getDomain(actor, domainRef);
  const keys = [
    ...new Set(
      inputs
        .map((raw) => raw.trim())
        .filter(Boolean)
        .map((a) => recipientKey(a.includes("@") ? a : `${a}@${domain.name}`)),
    ),
  ];
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const listed = await tx.recipient.findMany({ where: { domainId: domain.id, address: { in: keys } }, select: { address: true } });
      const removed = listed.map((r) => r.address);
      if (removed.length) {
        await tx.recipient.deleteMany({ where: { domainId: domain.id, address: { in: removed } } });
        await recordAuditEvent(tx, actor, {
          action: "recipient.remove",
          objectType: "domain",
          objectId: domain.id,
          customerId: domain.customerId,
          details: { domain: domain.name, removed: removed.slice(0, 100), count: removed.length },
        });
      }
      const gone = new Set(removed);
      return { removed, missing: keys.filter((k) => !gone.has(k)) };
    }),
  );
}

export async function removeRecipient(actor: Actor, domainRef: string, address: string) {
  const { removed } = await removeRecipients(actor, domainRef, [address]);
  if (!removed.length) throw new MailharborError("NOT_FOUND", `${address} is not listed in this domain`);
}

export async function listRecipients(actor: Actor, domainRef: string) {
  const domain = await getDomain(actor, domainRef);
  return dbWork(() =>
    getDb().recipient.findMany({ where: { domainId: domain.id }, orderBy: { address: "asc" }, select: { id: true, address: true, createdAt: true } }),
  );
}
