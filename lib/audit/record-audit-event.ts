// The audit trail: every change by anyone (staff, customer, CLI, mailer) leaves one row.
import type { Actor } from "../actor.ts";
import { actorId } from "../actor.ts";
import type { Prisma, Tx } from "../db/client.ts";

export interface AuditInput {
  action: string;
  objectType: string;
  objectId?: string | null;
  customerId?: string | null;
  details?: Prisma.InputJsonValue;
}

export async function recordAuditEvent(tx: Tx, actor: Actor, input: AuditInput): Promise<void> {
  await tx.auditEvent.create({
    data: {
      actorType: actor.type,
      actorId: actorId(actor),
      actorLabel: actor.label,
      action: input.action,
      objectType: input.objectType,
      objectId: input.objectId ?? null,
      customerId: input.customerId ?? null,
      details: input.details,
    },
  });
}
