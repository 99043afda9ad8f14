// AES-256-GCM for secrets that must be recovered in clear (CRAM-MD5 needs the shared secret,
// RFC 2195). The key is never in the database: MAILHARBOR_SECRET_KEY, or a key generated once
// into the data directory with mode 0600.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "../config/config.ts";
import { MailharborError } from "../errors.ts";

const VERSION = "v1";

export function encryptSecret(plain: string, key: Buffer): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString("base64"), tag.toString("base64"), body.toString("base64")].join(":");
}

export function decryptSecret(sealed: string, key: Buffer): string {
  const [version, iv, tag, body] = sealed.split(":");
  if (version !== VERSION || !iv || !tag || body === undefined) {
    throw new MailharborError("INTERNAL", "sealed secret has an unknown format");
  }
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
    decipher.setAuthTag(Buffer.from(tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8");
  } catch {
    // AES-GCM cannot tell a wrong key from a changed ciphertext; a wrong key is by far the likelier
    throw new MailharborError("SECRET_KEY_MISMATCH", "sealed secret failed its integrity check (wrong key or tampered)");
  }
}

/**
 * Reads a secret file of the data directory, creating it with `create()` on first use: mode 0600
 * and exclusively ("wx"), so that two processes starting together end up with one secret. A file
 * that group or others may read is refused, as ssh refuses such a private key: the secret may
 * have leaked, and a person should look (and `chmod 600` it) rather than the service go on.
 */
export function loadOrCreateSecretFile(file: string, create: () => string): string {
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) {
      throw new MailharborError(
        "CONFIG_INVALID",
        `${file}: readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); make it 0600 (chmod 600 ${file})`,
        { file },
      );
    }
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const content = create();
  try {
    fs.writeFileSync(file, content, { mode: 0o600, flag: "wx" });
    return content;
  } catch (error) {
    // another process created it first: use theirs
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return loadOrCreateSecretFile(file, create);
    throw error;
  }
}

/** Reads a 32-byte key (64 hex digits) from a file, creating it on first use (see loadOrCreateSecretFile). */
export function loadOrCreateKeyFile(file: string): Buffer {
  const hex = loadOrCreateSecretFile(file, () => crypto.randomBytes(32).toString("hex") + "\n").trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new MailharborError("CONFIG_INVALID", `${file}: not a 64-hex-digit key`, { file });
  return Buffer.from(hex, "hex");
}

let serverKey: Buffer | undefined;

export function getServerKey(): Buffer {
  if (!serverKey) {
    const config = getConfig();
    serverKey = config.MAILHARBOR_SECRET_KEY ? Buffer.from(config.MAILHARBOR_SECRET_KEY, "hex") : loadOrCreateKeyFile(path.join(config.dataDir, "secret.key"));
  }
  return serverKey;
}
