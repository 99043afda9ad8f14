// The portal's one authentication throttle (lib/auth/attempt-throttle.ts): the sign-in form and
// the account page's current-password check count together, so that a session cannot be used to
// guess a password faster than the login form allows. One per portal process.
import { getConfig } from "../config/config.ts";
import { AuthThrottle } from "./attempt-throttle.ts";

let throttle: AuthThrottle | null = null;

export function portalThrottle(): AuthThrottle {
  throttle ??= new AuthThrottle(getConfig());
  return throttle;
}
