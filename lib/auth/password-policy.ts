// The one rule for a portal password, wherever it is set (the account page, the forced change after
// a one-time password, `mailharbor user add --password`): long enough, and not a common password.
// NIST SP 800-63B §5.1.1.2: at least 8 characters (we ask 10), no composition rules, and refuse
// values from lists of commonly used or compromised passwords. The list ships with the project
// (common-passwords.ts, its source and licence at its top) and is read into a Set once.
import { COMMON_PASSWORDS } from "./common-passwords.ts";

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 1024;

let common: Set<string> | undefined;

function commonPasswords(): Set<string> {
  common ??= new Set(COMMON_PASSWORDS.split("\n").filter(Boolean));
  return common;
}

/**
 * Why a password is refused, or null when it may be used. Compared without case, and also with
 * digits and punctuation stripped from both ends, so that "Dragon2024!" counts as "dragon".
 */
export function passwordProblem(password: string): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `at most ${PASSWORD_MAX_LENGTH} characters`;
  const lower = password.toLowerCase();
  const core = lower.replace(/^[\d\p{P}\p{S}\s]+|[\d\p{P}\p{S}\s]+$/gu, "");
  const list = commonPasswords();
  if (list.has(lower) || (core && list.has(core))) return "this is one of the most common passwords; choose another";
  return null;
}
