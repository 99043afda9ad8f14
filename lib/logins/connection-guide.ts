// "How to connect" for one ODMR login, for staff and for the login's customer: the MX records its
// domains need, the host and ports to dial, the SASL mechanisms on each, and ready configuration
// for fetchmail (plain and TLS) and Exim's ODMR customer mode. It never holds the secret unless
// the caller has it just now (creation, rotation); otherwise the snippets carry a marked
// placeholder, so the guide can be shown again at any time.
import type { Actor } from "../actor.ts";
import { authMechanisms } from "./auth-mechanisms.ts";
import { domainNamesOfLogin } from "./collectable-domains.ts";
import { eximAtrnConfig, type EximAtrnConfig } from "./exim-atrn-config.ts";
import { fetchmailRc } from "./fetchmail-rc.ts";
import { getLogin } from "./logins.ts";
import { getConfig } from "../config/config.ts";
import { readCertificateFacts, type CertificateFacts } from "../tls/certificate-fingerprint.ts";

/** What stands in for the configuration while a login has nothing to collect. */
export const NO_DOMAIN_YET =
  "This login has no domain to collect yet: a domain must be assigned to it first (or to its customer, when the login collects all of them). Then the ready configuration appears on the login's page.";

export interface ConnectionGuide {
  login: string;
  /** the name customers dial and MX records point to */
  host: string;
  /** PUBLIC_HOSTNAME is set (otherwise `host` is this process's MAIL_HOSTNAME) */
  hostConfigured: boolean;
  odmrPort: number;
  odmrsPort: number;
  mechanisms: { plain: readonly string[]; tls: readonly string[] };
  /** the domains the login collects with ATRN now */
  domains: string[];
  /** one zone-file line per domain */
  mxRecords: string[];
  certificate: CertificateFacts | null;
  /** null while the login has no domain */
  fetchmail: { plain: string; ssl: string } | null;
  exim: EximAtrnConfig | null;
}

export async function getConnectionGuide(actor: Actor, loginRef: string, options: { secret?: string } = {}): Promise<ConnectionGuide> {
  const login = await getLogin(actor, loginRef);
  const config = getConfig();
  const domains = await domainNamesOfLogin(login.id);
  const host = config.PUBLIC_HOSTNAME ?? config.MAIL_HOSTNAME;
  const certificate = readCertificateFacts(config);
  const rc = { host, login: login.login, secret: options.secret, domains };
  const plain = fetchmailRc({ ...rc, port: config.ODMR_PORT });
  const ssl = fetchmailRc({ ...rc, port: config.ODMRS_PORT, ssl: { md5Fingerprint: certificate?.selfSigned ? certificate.md5Fingerprint : null } });
  return {
    login: login.login,
    host,
    hostConfigured: Boolean(config.PUBLIC_HOSTNAME),
    odmrPort: config.ODMR_PORT,
    odmrsPort: config.ODMRS_PORT,
    mechanisms: { plain: authMechanisms(false), tls: authMechanisms(true) },
    domains,
    mxRecords: domains.map((d) => `${d}.  IN  MX  10  ${host}.`),
    certificate,
    fetchmail: plain && ssl ? { plain, ssl } : null,
    exim: eximAtrnConfig({ ...rc, port: config.ODMR_PORT, tlsPort: config.ODMRS_PORT }),
  };
}
