import crypto from "node:crypto";

// Unambiguous characters only: secrets are read off a screen and typed into rc files.
const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/** A random secret of `length` characters (~5.8 bits each; 24 gives about 140 bits). */
export function generateSecret(length = 24): string {
  const out: string[] = [];
  while (out.length < length) {
    const byte = crypto.randomBytes(1)[0];
    // rejection sampling keeps the distribution uniform
    if (byte < 256 - (256 % ALPHABET.length)) out.push(ALPHABET[byte % ALPHABET.length]);
  }
  return out.join("");
}
