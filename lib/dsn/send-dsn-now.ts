// Staff's "send now" for one stored DSN: through the configured SMARTHOST, at once, whatever its
// state (held for want of a smarthost, or refused before and fixed since); never a sent one again.
// Without a SMARTHOST there is nowhere to send it: CONFLICT.
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { sendStoredDsns } from "./send-dsns.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { getConfig } from "../config/config.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { getDsn } from "./list-dsns.ts";
import { parseHostPort } from "../validation/host-port.ts";

/** A staff member waits for the answer: shorter than housekeeping's minute per step. */
const SEND_TIMEOUT_MS = 20_000;

export async function sendDsnNow(actor: Actor, id: string) {
  requireOperator(actor);
  const config = getConfig();
  if (!config.SMARTHOST) throw new MailharborError("CONFLICT", "no SMARTHOST is configured: DSNs stay held until one is set");
  const dsn = await getDsn(actor, id);
  if (dsn.status === "sent") throw new MailharborError("CONFLICT", "this DSN was sent already");
  const report = await sendStoredDsns(parseHostPort(config.SMARTHOST), config.MAIL_HOSTNAME, SEND_TIMEOUT_MS, { ids: [dsn.id] });
  if (report.busy) throw new MailharborError("CONFLICT", "DSNs are being sent right now; try again in a minute");
  const after = await getDsn(actor, id);
  await dbWork(() =>
    getDb().$transaction((tx) =>
      recordAuditEvent(tx, actor, {
        action: "dsn.send",
        objectType: "dsn",
        objectId: dsn.id,
        details: {
          rcptTo: dsn.rcptTo,
          messageId: dsn.messageId,
          result: after.status,
          ...(report.connectError ? { error: report.connectError } : after.lastError && after.status !== "sent" ? { error: after.lastError } : {}),
        },
      }),
    ),
  );
  return { dsn: after, connectError: report.connectError ?? null };
}
