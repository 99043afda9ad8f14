// RCPT TO: the address's syntax, then the shared recipient policy (lib/domains/resolve-recipient.ts),
// turned into SMTP replies. Returns null when the recipient is accepted (and records it on the address).
import type { SMTPServerSession } from "smtp-server";
import { MESSAGE_SIZE_CAP } from "./mx-limits.ts";
import { REPLIES, type Reply } from "./mx-replies.ts";
import { mxState, type MxRecipientAddress } from "./mx-session.ts";
import type { RecipientResolver } from "../../lib/domains/resolve-recipient.ts";
import { parseAddress } from "../../lib/validation/address.ts";

const NON_ASCII = /[^\x00-\x7f]/;

/** RFC 6531 §3.4: without SMTPUTF8 at MAIL FROM, an address with a UTF-8 local part is refused. */
export function needsSmtpUtf8(address: string, session: SMTPServerSession): boolean {
  const at = address.lastIndexOf("@");
  return !session.envelope.smtpUtf8 && NON_ASCII.test(at < 0 ? address : address.slice(0, at));
}

export async function checkRecipient(address: MxRecipientAddress, session: SMTPServerSession, resolver: RecipientResolver): Promise<Reply | null> {
  const log = mxState(session).log;
  const rcpt = address.address;
  // RFC 5321 §4.1.1.3 has servers accept a bare <postmaster>; this host holds mail only for hosted domains
  if (!rcpt.includes("@")) return REPLIES.noLocalMailboxes;
  if (needsSmtpUtf8(rcpt, session)) return REPLIES.utf8Required;
  const parsed = parseAddress(rcpt, { utf8: Boolean(session.envelope.smtpUtf8) });
  if (!parsed) return REPLIES.badRecipient;

  let decision;
  try {
    decision = await resolver.resolve(parsed);
  } catch (error) {
    // Never a guess while the database cannot answer: 451 leaves the mail with the sender.
    log.warn({ code: (error as { code?: string }).code ?? "INTERNAL", rcpt, err: error }, "recipient lookup failed");
    return REPLIES.temporaryFailure;
  }
  switch (decision.outcome) {
    case "not-hosted":
      return REPLIES.relayDenied;
    case "unknown-user":
      return REPLIES.unknownUser;
    case "deferred":
      return REPLIES.recipientDeferred;
    case "accept": {
      const limit = Math.min(decision.maxMessageSize, MESSAGE_SIZE_CAP);
      const args = session.envelope.mailFrom ? session.envelope.mailFrom.args : false;
      const declared = args ? Number(args.SIZE ?? 0) : 0;
      if (declared > limit) return REPLIES.recipientSizeExceeded;
      address.recipient = decision.recipient;
      address.maxMessageSize = limit;
      return null;
    }
  }
}
