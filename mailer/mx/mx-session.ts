// What the MX keeps per session and per accepted recipient, beside smtp-server's own session.
import type { SMTPServerAddress, SMTPServerSession } from "smtp-server";
import type { Logger } from "../../lib/log/logger.ts";
import type { ResolvedRecipient } from "../../lib/queue/store-message.ts";

export interface MxSessionState {
  /** carries the session id and client address on every line */
  log: Logger;
  /** the client address this session counts against (MX_MAX_CONNECTIONS_PER_IP) */
  slot: string;
  startedAt: number;
  accepted: number;
}

export type MxSession = SMTPServerSession & { mx: MxSessionState };

/** A RCPT address once the recipient policy accepted it (set in onRcptTo, read at DATA). */
export interface MxRecipientAddress extends SMTPServerAddress {
  recipient?: ResolvedRecipient;
  /** the recipient's domain limit */
  maxMessageSize?: number;
}

export function mxState(session: SMTPServerSession): MxSessionState {
  return (session as MxSession).mx;
}
