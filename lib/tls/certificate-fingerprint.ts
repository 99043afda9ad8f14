// What a customer needs to check the ODMR listeners' certificate: whether it is self-signed and,
// then, its MD5 fingerprint in fetchmail's `sslfingerprint` form (upper-case hex pairs with colons,
// the MD5 of the certificate as `openssl x509 -md5 -fingerprint` prints it). Read from
// TLS_CERT_FILE or the certificate load-tls.ts generated into the data directory; null when this
// process cannot read it (a portal on another machine than the mailers).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config/config.ts";

export interface CertificateFacts {
  selfSigned: boolean;
  md5Fingerprint: string;
}

export function readCertificateFacts(config: Config): CertificateFacts | null {
  const file = config.TLS_CERT_FILE ?? path.join(config.dataDir, "tls", "cert.pem");
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(fs.readFileSync(file));
  } catch {
    return null;
  }
  const md5 = crypto.createHash("md5").update(cert.raw).digest("hex").toUpperCase().match(/../g)!.join(":");
  return { selfSigned: cert.checkIssued(cert) && cert.verify(cert.publicKey), md5Fingerprint: md5 };
}
