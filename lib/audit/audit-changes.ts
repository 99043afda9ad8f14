// What an update changed, for the audit trail: only the fields whose value differs, each with its
// value before and after, rather than every setting the form happened to send.
import type { Prisma } from "../db/client.ts";

export type AuditChanges = Record<string, { from: Prisma.InputJsonValue | null; to: Prisma.InputJsonValue | null }>;

type Plain = string | number | boolean | null | undefined | string[];

/** The fields of `update` (undefined ones are not being set) whose value differs from `before`. */
export function auditChanges(before: Record<string, unknown>, update: Record<string, Plain>): AuditChanges {
  const changes: AuditChanges = {};
  for (const [key, to] of Object.entries(update)) {
    if (to === undefined) continue;
    const from = (before[key] ?? null) as Plain;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from: from ?? null, to };
  }
  return changes;
}
