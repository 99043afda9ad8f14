// The SASL mechanisms offered with ODMR logins: RFC 2645 §4.1 CRAM-MD5 always; RFC 4954 §4 the
// plain-text mechanisms (PLAIN, LOGIN) only inside TLS. The listeners announce them from here and
// the portal's "How to connect" lists them from here.
export const CRAM_ONLY = ["CRAM-MD5"] as const;
export const ALL_MECHANISMS = ["CRAM-MD5", "PLAIN", "LOGIN"] as const;

export function authMechanisms(secure: boolean): readonly string[] {
  return secure ? ALL_MECHANISMS : CRAM_ONLY;
}
