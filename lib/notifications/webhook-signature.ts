// Webhook signatures: `Mailharbor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
// under the customer's webhook secret. The timestamp is signed with the body, so a receiver that
// refuses old timestamps (5 minutes) also refuses a replayed request. README.md shows the check.
import crypto from "node:crypto";

export const SIGNATURE_HEADER = "Mailharbor-Signature";

export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = crypto.createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

/** True when the header signs this body under the secret and its timestamp is within toleranceSeconds of now. */
export function verifyWebhook(secret: string, body: string, header: string, toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const parts = new Map(header.split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1") ?? "";
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = crypto.createHmac("sha256", secret).update(`${t}.${body}`).digest();
  return crypto.timingSafeEqual(expected, Buffer.from(v1, "hex"));
}
