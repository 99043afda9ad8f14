// argon2id password hashing (RFC 9106), for portal users and the PLAIN/LOGIN side of ODMR logins.
import { hash, verify } from "@node-rs/argon2";

// Algorithm.Argon2id is a const enum (2), which isolated modules cannot read; OWASP's minimum parameters.
const ARGON2ID = 2;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(hashed: string, password: string): Promise<boolean> {
  try {
    return await verify(hashed, password);
  } catch {
    return false;
  }
}

/** A hash of a random string, verified against when no user exists, so timing does not tell. */
let dummyHash: Promise<string> | undefined;
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummyHash ??= hashPassword("mailharbor-no-such-user-" + Math.random());
  await verifyPassword(await dummyHash, password);
  return false;
}
