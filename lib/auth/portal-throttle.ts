// The portal's one authentication throttle (lib/auth/attempt-throttle.ts): the sign-in form, the
// account page's current-password check and every two-factor code check count together, so that a
// session cannot be used to guess a password or a code faster than the login form allows. One per
// portal process.
import { getConfig } from "../config/config.ts";
import { MailharborError } from "../errors.ts";
import { AttemptThrottle, AuthThrottle, DEFAULT_THROTTLE } from "./attempt-throttle.ts";

let throttle: AuthThrottle | null = null;
let codes: AttemptThrottle | null = null;

export function portalThrottle(): AuthThrottle {
  throttle ??= new AuthThrottle(getConfig());
  return throttle;
}

/**
 * Two-factor codes per account. A 6-digit code is one of a million, so unlike a password an account
 * does lock for codes (RFC 4226 §7.3, RFC 6238 §5.2: throttle the verifier) after AUTH_LOCK_AFTER
 * wrong ones from any addresses, for AUTH_LOCK_MINUTES; only someone who already has the password
 * gets this far, and the password still works once the lock ends.
 */
function codeThrottle(): AttemptThrottle {
  const config = getConfig();
  codes ??= new AttemptThrottle({
    ...DEFAULT_THROTTLE,
    stepDelayMs: config.AUTH_DELAY_STEP_MS,
    lockAfter: config.AUTH_LOCK_AFTER,
    lockMs: config.AUTH_LOCK_MINUTES * 60_000,
  });
  return codes;
}

/**
 * Runs one secret check (a password, a TOTP or recovery code) from `address` for `account` under
 * the portal throttle: it waits the throttle's delay before answering, whatever the answer, counts a
 * false answer as a failure, and refuses with THROTTLED (nothing checked) when the address, or for
 * a code the account's codes, are locked.
 */
export async function throttledCheck(address: string, account: string, kind: "password" | "code", check: () => Promise<boolean>): Promise<boolean> {
  const attempt = portalThrottle().begin(address, account);
  if (!attempt) throw new MailharborError("THROTTLED", `too many wrong ${kind === "code" ? "codes" : "passwords"} from this address; try again later`);
  const codeCounted = kind === "code" && codeThrottle().reserve(account);
  if (kind === "code" && !codeCounted) {
    attempt.settle("unchecked");
    throw new MailharborError("THROTTLED", "too many wrong codes for this account; try again later");
  }
  let outcome: "success" | "failure" | "unchecked" = "unchecked";
  try {
    if (attempt.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, attempt.delayMs));
    outcome = (await check()) ? "success" : "failure";
    return outcome === "success";
  } finally {
    attempt.settle(outcome);
    if (codeCounted) {
      codeThrottle().settle(account, outcome === "failure");
      if (outcome === "success") codeThrottle().succeed(account);
    }
  }
}
