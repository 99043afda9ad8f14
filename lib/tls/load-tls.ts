// The TLS certificate for STARTTLS and the implicit-TLS ODMR port: TLS_CERT_FILE/TLS_KEY_FILE
// when set, else a self-signed one generated once into the data directory.
import fs from "node:fs";
import path from "node:path";
import { generate } from "selfsigned";
import type { Config } from "../config/config.ts";
import { MailharborError } from "../errors.ts";

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  selfSigned: boolean;
}

export async function loadTls(config: Config): Promise<TlsMaterial> {
  if (config.TLS_CERT_FILE && config.TLS_KEY_FILE) {
    try {
      return { cert: fs.readFileSync(config.TLS_CERT_FILE), key: fs.readFileSync(config.TLS_KEY_FILE), selfSigned: false };
    } catch (error) {
      throw new MailharborError("CONFIG_INVALID", `TLS_CERT_FILE/TLS_KEY_FILE: ${(error as Error).message}`);
    }
  }
  const dir = path.join(config.dataDir, "tls");
  const certFile = path.join(dir, "cert.pem");
  const keyFile = path.join(dir, "key.pem");
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pems = await generate([{ name: "commonName", value: config.MAIL_HOSTNAME }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notAfterDate: new Date(Date.now() + 10 * 365 * 86400_000),
      extensions: [
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: config.MAIL_HOSTNAME },
            { type: 2, value: "localhost" },
            { type: 7, ip: "127.0.0.1" },
          ],
        },
      ],
    });
    fs.writeFileSync(keyFile, pems.private, { mode: 0o600 });
    fs.writeFileSync(certFile, pems.cert, { mode: 0o644 });
  }
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), selfSigned: true };
}
