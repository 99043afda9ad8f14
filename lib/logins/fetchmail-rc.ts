// A ready fetchmail run-control snippet for an ODMR login (fetchmail's ODMR mode authenticates with
// CRAM-MD5 only and never STARTTLS, RFC 2645 §4; its rc strings take backslash escapes). Without
// the secret (the login page shows it again at any time) the password is a marked placeholder.
// There is no snippet for a login with no domain: fetchdomains must name real domains.
export const SECRET_PLACEHOLDER = "<your secret>";

export interface FetchmailRcInput {
  /** the provider's host name customers dial (PUBLIC_HOSTNAME) */
  host: string;
  port: number;
  login: string;
  /** shown once after creation or rotation; otherwise SECRET_PLACEHOLDER */
  secret?: string;
  domains: string[];
  /** implicit TLS (fetchmail's `ssl`) on ODMRS_PORT; `md5Fingerprint` when the certificate is self-signed */
  ssl?: { md5Fingerprint: string | null };
}

function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The rc text, or null when the login has no domain to collect yet. */
export function fetchmailRc(input: FetchmailRcInput): string | null {
  if (input.domains.length === 0) return null;
  const tls = input.ssl
    ? input.ssl.md5Fingerprint
      ? [
          "  # the provider's certificate is self-signed: fetchmail checks its fingerprint instead of a CA",
          "  ssl",
          `  sslfingerprint ${quoted(input.ssl.md5Fingerprint)}`,
          "  no sslcertck",
        ]
      : ["  ssl", "  sslcertck"]
    : [];
  return [
    "# ~/.fetchmailrc (chmod 600), then: fetchmail -f ~/.fetchmailrc -N --nosyslog",
    `poll ${input.host} with protocol ODMR service ${input.port} auth cram-md5`,
    ...(input.secret ? [] : [`  # replace ${SECRET_PLACEHOLDER} below with the login's secret`]),
    `  user ${quoted(input.login)} there with password ${quoted(input.secret ?? SECRET_PLACEHOLDER)}`,
    `  fetchdomains ${input.domains.join(",")}`,
    "  # your own mail server, which fetchmail passes the mail to",
    `  smtphost "localhost/25"`,
    ...tls,
    "",
  ].join("\n");
}
