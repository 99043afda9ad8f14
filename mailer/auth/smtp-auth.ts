// SMTP AUTH with the ODMR logins (RFC 4954, RFC 2195 CRAM-MD5), for the ODMR listeners and for ETRN
// on the MX, with failed attempts throttled per client address (IPv6 per /64) and per login name
// by one throttle per process, so failures on either listener count for both. An address that
// keeps failing is slowed down and then locked out for a while; a login name that keeps failing
// (from anywhere) is only slowed down, never locked, so its owner's server elsewhere still gets in.
// Both listeners take from here the mechanisms and the EHLO keyword, the 538 rule for plain-text
// mechanisms, the check and its throttle, the failure log lines and the answer to smtp-server's
// onAuth; what each does with a login afterwards (ATRN, ETRN) stays with the listener.
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse } from "smtp-server";
import { smtpAuthThrottle, type AuthThrottle } from "../../lib/auth/attempt-throttle.ts";
import type { Config } from "../../lib/config/config.ts";
import { errorCode } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { ALL_MECHANISMS, authMechanisms } from "../../lib/logins/auth-mechanisms.ts";
import { recordLoginUse, verifyOdmrCramMd5, verifyOdmrPassword, type AuthenticatedLogin } from "../../lib/logins/verify-odmr-login.ts";

/** The mechanisms offered with ODMR logins, on the ODMR listeners and on the MX (for ETRN). */
export const AUTH_METHODS = [...ALL_MECHANISMS];

/** The EHLO keyword: RFC 2645 §4.1 CRAM-MD5 always; RFC 4954 §4 plain-text mechanisms only inside TLS. */
export function authKeyword(secure: boolean): string {
  return `AUTH ${authMechanisms(secure).join(" ")}`;
}

/** RFC 4954 §6: an AUTH command (`AUTH <mechanism> …`) with a plain-text mechanism outside TLS is answered 538 (encryption required). */
export function needsEncryption(command: Buffer, secure: boolean): boolean {
  const method = (command.toString("latin1").trim().split(/\s+/)[1] ?? "").toUpperCase();
  return !secure && (method === "PLAIN" || method === "LOGIN");
}

export type AuthOutcome =
  | { ok: true; login: AuthenticatedLogin }
  | { ok: false; code: 454 | 535; message: string; /** why, for the session's transcript (never sent to the client) */ reason: string };

/** smtp-server's onAuth callback */
export type OnAuthCallback = (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class OdmrAuthenticator {
  private readonly throttle: AuthThrottle;

  /** `listener`: the prefix of its log codes (ODMR_AUTH_FAILED, MX_AUTH_FAILED …), so an alert names the listener */
  constructor(
    config: Config,
    private readonly log: Logger,
    private readonly listener: "ODMR" | "MX",
  ) {
    this.throttle = smtpAuthThrottle(config);
  }

  async authenticate(auth: SMTPServerAuthentication, remoteAddress: string): Promise<AuthOutcome> {
    const name = (auth.username ?? "").trim();
    // counted before the secret is checked, so parallel attempts cannot all pass the lock check
    const attempt = this.throttle.begin(remoteAddress, name.toLowerCase());
    if (!attempt) {
      this.log.warn({ code: `${this.listener}_AUTH_LOCKED`, login: name }, "authentication refused: too many failures from this address");
      return {
        ok: false,
        code: 454,
        message: "Temporary authentication failure: too many failed attempts, try again later",
        reason: "this address is locked out after too many failures",
      };
    }
    if (attempt.delayMs > 0) await sleep(attempt.delayMs);
    let result;
    try {
      result =
        auth.method === "CRAM-MD5"
          ? await verifyOdmrCramMd5(name, auth.challenge ?? "", auth.challengeResponse ?? "")
          : await verifyOdmrPassword(name, auth.password ?? "");
    } catch (error) {
      attempt.settle("unchecked");
      this.log.error({ code: errorCode(error), err: error }, "authentication could not be checked");
      return { ok: false, code: 454, message: "Temporary authentication failure", reason: "the credentials could not be checked" };
    }
    if (!result.ok) {
      attempt.settle("failure");
      this.log.info({ code: `${this.listener}_AUTH_FAILED`, login: name, method: auth.method, reason: result.reason }, "authentication failed");
      return { ok: false, code: 535, message: "Authentication credentials invalid", reason: result.reason };
    }
    // clears the login's counter only: the address keeps its record (see AuthThrottle)
    attempt.settle("success");
    await recordLoginUse(result.login.loginId, remoteAddress).catch((error) =>
      this.log.warn({ code: errorCode(error), err: error }, "could not record the login's last use"),
    );
    return { ok: true, login: result.login };
  }

  /**
   * Answers smtp-server's onAuth: 235 with the login as the session's user, or the outcome's 454
   * or 535 (RFC 4954 §6). `seen` hears each outcome before the reply goes out; a check that fails
   * unexpectedly is logged on `log` and answered 454.
   */
  answer(auth: SMTPServerAuthentication, remoteAddress: string, callback: OnAuthCallback, log: Logger, seen: (outcome: AuthOutcome) => void): void {
    this.authenticate(auth, remoteAddress).then(
      (result) => {
        seen(result);
        if (result.ok) callback(null, { user: result.login });
        else callback(null, { user: undefined, message: result.message, responseCode: result.code } as SMTPServerAuthenticationResponse);
      },
      (error: unknown) => {
        log.error({ code: "INTERNAL", err: error }, "authentication failed unexpectedly");
        callback(Object.assign(new Error("Temporary authentication failure"), { responseCode: 454 }));
      },
    );
  }
}
