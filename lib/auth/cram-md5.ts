// CRAM-MD5 (RFC 2195): the client answers a challenge with "user HEX(HMAC-MD5(secret, challenge))".
import crypto from "node:crypto";

export function cramMd5Digest(secret: string, challenge: string): string {
  return crypto.createHmac("md5", secret).update(challenge).digest("hex");
}

export function cramMd5Matches(secret: string, challenge: string, digest: string): boolean {
  const expected = Buffer.from(cramMd5Digest(secret, challenge), "utf8");
  const given = Buffer.from(digest.toLowerCase(), "utf8");
  return expected.length === given.length && crypto.timingSafeEqual(expected, given);
}

/** A challenge in the RFC 2195 form <random.timestamp@hostname>. */
export function cramMd5Challenge(hostname: string): string {
  return `<${crypto.randomBytes(8).readBigUInt64BE().toString()}.${Date.now()}@${hostname}>`;
}
