// ODMR login names travel inside SASL: CRAM-MD5 separates the name from the digest with a
// space (RFC 2195), PLAIN with NUL (RFC 4616), so neither may appear; we keep to a safe set.
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

export function normalizeLoginName(input: string): string | null {
  if (typeof input !== "string") return null;
  const value = input.trim();
  return LOGIN.test(value) ? value : null;
}
