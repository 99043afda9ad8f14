// Every reply the MX decides itself, with its enhanced status code (RFC 3463, advertised as
// ENHANCEDSTATUSCODES per RFC 2034). Hooks hand them to smtp-server as errors whose message
// starts with the enhanced code; MxConnection#send writes that code instead of the library's guess.
import type { SMTPServerError } from "smtp-server";

export interface Reply {
  code: number;
  enhanced: string;
  text: string;
}

export const REPLIES = {
  // RCPT (RFC 5321 §4.2.2, §4.5.3.1.8; RFC 3463)
  relayDenied: { code: 550, enhanced: "5.7.1", text: "Relay access denied" },
  unknownUser: { code: 550, enhanced: "5.1.1", text: "Recipient address rejected: user unknown" },
  /** a domainless recipient such as <postmaster>: this host keeps no mailboxes of its own */
  noLocalMailboxes: { code: 550, enhanced: "5.1.1", text: "Recipient address rejected: no local mailboxes here" },
  recipientDeferred: { code: 450, enhanced: "4.7.1", text: "Recipient address rejected: mail for this domain is paused, try again later" },
  badRecipient: { code: 501, enhanced: "5.1.3", text: "Bad recipient address syntax" },
  /** RFC 6531 §3.4: a non-ASCII address without SMTPUTF8 */
  utf8Required: { code: 553, enhanced: "5.6.7", text: "SMTPUTF8 is required for a non-ASCII address" },
  /** RFC 5321 §4.1.1.11: a parameter of an extension this server did not offer in EHLO */
  unknownParameter: { code: 555, enhanced: "5.5.4", text: "Parameter not recognized or not implemented" },
  /** RFC 1870 §6.1: the declared SIZE is above what this recipient's domain accepts */
  recipientSizeExceeded: { code: 552, enhanced: "5.3.4", text: "Message size exceeds the limit of this recipient's domain" },
  // DATA
  messageTooBig: { code: 552, enhanced: "5.3.4", text: "Message size exceeds the limit" },
  /** RFC 5321 §6.3: a message that has passed through too many hosts is looping */
  mailLoop: { code: 554, enhanced: "5.4.6", text: "Too many Received headers: mail loop detected" },
  /** RFC 5321 §2.3.8: CR and LF only as CRLF; a bare one is how SMTP smuggling starts */
  dataBareNewline: { code: 550, enhanced: "5.5.2", text: "Message refused: bare <CR> or <LF> received" },
  /** RFC 5321 §4.5.3.1.6: 1000 octets per text line, CRLF included */
  dataLineTooLong: { code: 550, enhanced: "5.5.2", text: "Message refused: a line is longer than 1000 octets" },
  dataNul: { code: 550, enhanced: "5.6.0", text: "Message refused: NUL byte received" },
  /** RFC 5321 §4.5.3.2.6 gives the whole data transfer 10 minutes (MX_DATA_TIMEOUT); the connection is closed after it */
  dataTimeout: { code: 451, enhanced: "4.4.2", text: "Error: timeout exceeded for the message data, closing connection" },
  /** the memory set aside for messages in transit is in use: the sender's queue keeps the mail */
  insufficientStorage: { code: 452, enhanced: "4.3.1", text: "Insufficient system storage, try again later" },
  queued: { code: 250, enhanced: "2.0.0", text: "Ok: queued as" },
  /** the database did not answer or failed: nothing was stored */
  temporaryFailure: { code: 451, enhanced: "4.3.0", text: "Temporary local problem, try again later" },
  // commands (RFC 5321 §4.2.4, §4.5.3.1.4)
  commandTooLong: { code: 500, enhanced: "5.5.2", text: "Line too long" },
  commandBareNewline: { code: 500, enhanced: "5.5.2", text: "Bare <CR> or <LF> received; commands end with <CRLF>" },
  commandNul: { code: 500, enhanced: "5.5.2", text: "NUL byte received" },
  /** smtp-server's own words for a verb it does not know */
  unknownCommand: { code: 500, enhanced: "5.5.2", text: "Error: command not recognized" },
  // AUTH (RFC 4954 §6) and ETRN (RFC 1985), which AUTH on the MX exists for
  encryptionRequired: { code: 538, enhanced: "5.7.11", text: "Encryption required for requested authentication mechanism" },
  helloFirst: { code: 503, enhanced: "5.5.1", text: "Error: send HELO/EHLO first" },
  /** ETRN is not part of a mail transaction; Postfix refuses it inside one the same way */
  transactionInProgress: { code: 503, enhanced: "5.5.1", text: "Error: MAIL transaction in progress" },
  /** RFC 5321 §3.1: the client waits for the greeting; one that talks first is a bot (Postfix postscreen's pregreet test) */
  pregreet: { code: 554, enhanced: "5.5.1", text: "Error: you talked before the greeting" },
  // closing the session (RFC 5321 §3.8: 421 and close)
  tooManyConnections: { code: 421, enhanced: "4.3.2", text: "Too many connections, try again later" },
  tooManyConnectionsFromAddress: { code: 421, enhanced: "4.3.2", text: "Too many connections from your address, try again later" },
  tooManyErrors: { code: 421, enhanced: "4.7.0", text: "Too many errors, closing connection" },
  shuttingDown: { code: 421, enhanced: "4.3.2", text: "Server shutting down" },
} as const satisfies Record<string, Reply>;

/** Enhanced codes for replies smtp-server writes itself, where its default mapping does not fit. */
export const LIBRARY_REPLY_CODES: Record<string, string> = {
  "Server shutting down": "4.3.2",
  "Error: too many unrecognized commands": "4.7.0",
};

const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;

/** True when a reply text already starts with its enhanced status code. */
export function hasEnhancedCode(text: string): boolean {
  return ENHANCED_PREFIX.test(text);
}

export function replyText(reply: Reply, detail?: string): string {
  return `${reply.enhanced} ${detail ? `${detail}: ` : ""}${reply.text}`;
}

/** The error a smtp-server hook passes to its callback to send this reply. */
export function replyError(reply: Reply, detail?: string): SMTPServerError {
  const error: SMTPServerError = new Error(replyText(reply, detail));
  error.responseCode = reply.code;
  return error;
}
