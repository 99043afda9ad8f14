// The DSNs the service owes or has sent, for staff: a DSN names a sender of any customer's mail,
// so a customer never sees them (FORBIDDEN, shown as "not found" by the portal).
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { DSN_STATUSES, dsnStatus, dsnStatusWhere, type DsnStatus } from "./dsn-status.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { uuidSchema } from "../validation/schemas.ts";

/** A DSN's text shown on its page is cut here: it carries at most the returned headers anyway. */
const TEXT_LIMIT = 256 * 1024;

const summary = {
  id: true,
  messageId: true,
  rcptTo: true,
  reason: true,
  state: true,
  attempts: true,
  lastError: true,
  createdAt: true,
  sentAt: true,
} as const;

export async function listDsns(actor: Actor, options: { status?: DsnStatus; limit?: number } = {}) {
  requireOperator(actor);
  if (options.status !== undefined && !DSN_STATUSES.includes(options.status)) {
    throw new MailharborError("INVALID_INPUT", `status: one of ${DSN_STATUSES.join(", ")}`, { field: "status" });
  }
  const db = getDb();
  const where = options.status ? dsnStatusWhere(options.status) : {};
  const [rows, counts] = await dbWork(() =>
    Promise.all([
      db.dsn.findMany({ where, orderBy: { createdAt: "desc" }, take: Math.min(options.limit ?? 100, 500), select: summary }),
      Promise.all(DSN_STATUSES.map((s) => db.dsn.count({ where: dsnStatusWhere(s) }))),
    ]),
  );
  return {
    items: rows.map((r) => ({ ...r, status: dsnStatus(r) })),
    counts: Object.fromEntries(DSN_STATUSES.map((s, i) => [s, counts[i]])) as Record<DsnStatus, number>,
  };
}

/** One DSN with its text (RFC 3464 multipart/report, as it will be or was sent). */
export async function getDsn(actor: Actor, id: string) {
  requireOperator(actor);
  if (!uuidSchema.safeParse(id).success) throw new MailharborError("NOT_FOUND", `no DSN ${id}`);
  const row = await dbWork(() => getDb().dsn.findUnique({ where: { id }, select: { ...summary, raw: true } }));
  if (!row) throw new MailharborError("NOT_FOUND", `no DSN ${id}`);
  const { raw, ...rest } = row;
  const bytes = Buffer.from(raw);
  return {
    ...rest,
    status: dsnStatus(rest),
    size: bytes.length,
    text: bytes.subarray(0, TEXT_LIMIT).toString("utf8"),
    truncated: bytes.length > TEXT_LIMIT,
  };
}

export type DsnDetail = Awaited<ReturnType<typeof getDsn>>;
