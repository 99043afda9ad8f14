// The ETRN replies (RFC 1985 §4), each naming the node asked for, with enhanced status codes
// (RFC 3463) as the MX advertises ENHANCEDSTATUSCODES. Runs asked for from the portal or the CLI
// are recorded with the same replies, so the session list reads them alike.
export interface EtrnReply {
  code: number;
  enhanced: string;
  text: string;
}

export const ETRN_REPLIES = {
  /** a run for this node was already going: it takes the mail (RFC 1985: "queuing started") */
  started: (node: string): EtrnReply => ({ code: 250, enhanced: "2.0.0", text: `OK, queuing for node ${node} started` }),
  noMessages: (node: string): EtrnReply => ({ code: 251, enhanced: "2.0.0", text: `OK, no messages waiting for node ${node}` }),
  /** more held messages than were worth counting */
  pending: (node: string): EtrnReply => ({ code: 252, enhanced: "2.0.0", text: `OK, pending messages for node ${node} started` }),
  pendingCount: (node: string, count: number): EtrnReply => ({ code: 253, enhanced: "2.0.0", text: `OK, ${count} pending messages for node ${node} started` }),
  /** the queue cannot be run now (the database does not answer, the mailer is stopping) */
  unable: (node: string): EtrnReply => ({ code: 458, enhanced: "4.3.0", text: `Unable to queue messages for node ${node}` }),
  /** the client asked more often than ETRN_RATE_PER_MINUTE allows: RFC 1985 §4's "unable to queue", for now */
  rateLimited: (node: string): EtrnReply => ({
    code: 458,
    enhanced: "4.7.0",
    text: `Unable to queue messages for node ${node}: too many ETRN requests, try again later`,
  }),
  /** one text for every refusal, so a stranger cannot tell a hosted domain from one that is not */
  notAllowed: (node: string, reason = "not a domain this client may release"): EtrnReply => ({
    code: 459,
    enhanced: "4.7.0",
    text: `Node ${node} not allowed: ${reason}`,
  }),
  /** Postfix's wording and codes: a wrong number of arguments is 500, a bad node name 501 */
  syntax: { code: 500, enhanced: "5.5.2", text: "Syntax: ETRN [@]domain" } as EtrnReply,
  badNode: { code: 501, enhanced: "5.5.4", text: "Syntax error in parameters: not a domain name" } as EtrnReply,
} as const;

/** The reply as recorded with a session, e.g. "253 OK, 3 pending messages for node acme.example started". */
export function replyLine(reply: EtrnReply): string {
  return `${reply.code} ${reply.text}`;
}
