// The one translation of core error codes into HTTP statuses for the API. A Record over every
// code, so a new code cannot be added to lib/errors.ts without deciding its status here.
import type { ErrorCode } from "@/lib/errors.ts";

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_INPUT: 400,
  AUTH_FAILED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  // the object cannot change while mail for it is held (RFC 9110 §15.5.10: a conflict with its state)
  HAS_HELD_MAIL: 409,
  THROTTLED: 429,
  INTERNAL: 500,
  CONFIG_INVALID: 500,
  DATA_DIR_IN_USE: 500,
  SECRET_KEY_MISMATCH: 500,
  DB_UNAVAILABLE: 503,
};

export function httpStatusFor(code: ErrorCode): number {
  return HTTP_STATUS[code];
}
