// A ready configuration for Exim 4.99's ODMR customer mode (`exim -atrn HOST DOMAINS`, RFC 2645)
// against this provider: an authenticator, a router and a transport, and the commands to collect.
// Two faults of Exim 4.99.1's customer side shape it (see the comments it carries):
// - given an empty list or several domains, the deliveries it forks for the received mail apply
//   the list as a filter and silently drop that mail: so one `exim -atrn` per domain, or receive
//   into the queue with -odq and deliver with `exim -q` afterwards;
// - its documented router for the provider also matches the mail received during the session
//   ($atrn_mode is "C" there too) and sends it back to us: so it is limited to `local_parts =
//   _atrn`, the address Exim gives its ATRN call (_atrn@<provider>).
import { SECRET_PLACEHOLDER } from "./fetchmail-rc.ts";

export interface EximAtrnInput {
  host: string;
  /** ODMR_PORT (STARTTLS) */
  port: number;
  /** ODMRS_PORT (TLS from the first byte) */
  tlsPort: number;
  login: string;
  secret?: string;
  domains: string[];
}

/** Exim quotes: backslash and double quote escaped inside "…". */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export interface EximAtrnConfig {
  /** the parts to add to the Exim configuration */
  config: string;
  /** the shell commands that collect the mail (from cron, say) */
  commands: string;
}

/** The configuration and commands, or null when the login has no domain to collect yet. */
export function eximAtrnConfig(input: EximAtrnInput): EximAtrnConfig | null {
  if (input.domains.length === 0) return null;
  const config = [
    `# Exim 4.99 as the ODMR customer of ${input.host}, login ${input.login}: add each part to`,
    "# its section of your Exim configuration.",
    "",
    "begin authenticators",
    "# CRAM-MD5 works on both ports; the provider offers PLAIN and LOGIN only inside TLS",
    "mailharbor_cram_md5:",
    "  driver = cram_md5",
    "  public_name = CRAM-MD5",
    `  client_name = ${quoted(input.login)}`,
    ...(input.secret ? [] : [`  # replace ${SECRET_PLACEHOLDER} below with the login's secret`]),
    `  client_secret = ${quoted(input.secret ?? SECRET_PLACEHOLDER)}`,
    "",
    "begin routers",
    "# first among the routers. Only the ATRN call itself: Exim addresses it to _atrn@<provider>.",
    "# Without local_parts = _atrn this router would also catch the mail you receive during the",
    "# session ($atrn_mode is C there too) and send it straight back to the provider.",
    "mailharbor_odmr:",
    "  driver = manualroute",
    "  condition = ${if eq {$atrn_mode}{C}}",
    "  local_parts = _atrn",
    "  route_data = <;$domain",
    "  transport = mailharbor_odmr",
    "",
    "begin transports",
    "mailharbor_odmr:",
    "  driver = smtp",
    `  port = ${input.port}`,
    "  hosts_require_tls = *",
    "  hosts_require_auth = *",
    "  # RFC 2645 §4.3: allow at least 10 minutes for the reply to ATRN",
    "  command_timeout = 10m",
    `  # or TLS from the first byte instead of STARTTLS: port = ${input.tlsPort} and protocol = smtps`,
    "",
  ].join("\n");
  const commands = [
    "# ONE domain per exim -atrn: Exim 4.99.1 applies the list it asked for as a filter to the",
    "# deliveries of the mail it receives, and with several domains (or an empty list) it",
    "# silently drops that mail.",
    ...input.domains.map((d) => `exim -atrn ${input.host} ${d}`),
    ...(input.domains.length > 1
      ? [
          "# or all domains in one session: receive into the queue only (-odq), then deliver it",
          `# exim -odq -atrn ${input.host} ${input.domains.join(",")} && exim -q`,
        ]
      : []),
    "",
  ].join("\n");
  return { config, commands };
}
