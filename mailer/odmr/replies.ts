// The ODMR listener's own replies (RFC 2645 §4.2, RFC 4954 §6), in one table. Texts follow the
// examples of RFC 2645 where it gives them. Every ATRN reply is one line: fetchmail reads exactly
// one line and would pass continuation lines to the customer's MTA as commands.
export interface OdmrReply {
  code: number;
  text: string;
}

export const REPLIES = {
  atrnReleased: { code: 250, text: "OK now reversing the connection" },
  atrnNotAuthorized: { code: 450, text: "Access denied" },
  atrnTooOften: { code: 450, text: "Too many ATRN requests, try again later" },
  atrnUnavailable: { code: 451, text: "Unable to process ATRN request now" },
  atrnNoMail: { code: 453, text: "You have no mail" },
  atrnSyntax: { code: 501, text: "Syntax: ATRN [domain[,domain]...]" },
  authRequired: { code: 530, text: "Authentication required" },
  encryptionRequired: { code: 538, text: "Encryption required for requested authentication mechanism" },
  notInProfile: { code: 502, text: "Command not implemented by the ODMR service" },
  ehloSyntax: { code: 501, text: "Syntax: EHLO hostname" },
  // bytes that arrive after ATRN and before its reply are never taken as commands
  earlyInput: { code: 421, text: "Protocol error: data received before the reply to ATRN, closing connection" },
  tooManyOutOfProfile: { code: 421, text: "Too many commands outside the ODMR profile, closing connection" },
  sessionLimit: { code: 421, text: "Session time limit reached, closing connection" },
  preauthLimit: { code: 421, text: "Authentication time limit reached, closing connection" },
  tooManyConnections: { code: 421, text: "Too many connections, try again later" },
  tooManyFromAddress: { code: 421, text: "Too many connections from your address, try again later" },
} as const satisfies Record<string, OdmrReply>;
