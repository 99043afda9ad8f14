// A ready fetchmail run-control snippet for an ODMR login (fetchmail's ODMR mode authenticates with
// CRAM-MD5 only and never STARTTLS, RFC 2645 §4; its rc strings take backslash escapes).
export interface FetchmailRcInput {
  /** the provider's host name (MAIL_HOSTNAME) */
  host: string;
  port: number;
  login: string;
  secret: string;
  domains: string[];
}

function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function fetchmailRc(input: FetchmailRcInput): string {
  return [
    "# ~/.fetchmailrc (chmod 600), then: fetchmail -f ~/.fetchmailrc -N --nosyslog",
    `poll ${input.host} with protocol ODMR service ${input.port} auth cram-md5`,
    `  user ${quoted(input.login)} there with password ${quoted(input.secret)}`,
    `  fetchdomains ${input.domains.length ? input.domains.join(",") : "your.domain.example"}`,
    `  smtphost "localhost/25"`,
    "",
  ].join("\n");
}
