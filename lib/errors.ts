// One error type for the whole core. Each transport maps `code` to its own reply:
// an SMTP code (mailer), an HTTP status or form message (portal), an exit status (CLI).

export const ERROR_CODES = {
  INVALID_INPUT: "the input is not valid",
  NOT_FOUND: "no such object",
  CONFLICT: "it already exists",
  FORBIDDEN: "not allowed",
  HAS_HELD_MAIL: "mail is still held",
  AUTH_FAILED: "authentication failed",
  THROTTLED: "too many attempts",
  DB_UNAVAILABLE: "the database is not available",
  CONFIG_INVALID: "the configuration is not valid",
  DATA_DIR_IN_USE: "the data directory is in use",
  SECRET_KEY_MISMATCH: "a sealed secret does not open with this server key (MAILHARBOR_SECRET_KEY)",
  INTERNAL: "internal error",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class MailharborError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERROR_CODES[code]);
    this.name = "MailharborError";
    this.code = code;
    this.details = details;
  }
}

export function isMailharborError(error: unknown, code?: ErrorCode): error is MailharborError {
  return error instanceof MailharborError && (code === undefined || error.code === code);
}

/** The stable code to log or answer for anything thrown: its own code, INTERNAL for anything else. */
export function errorCode(error: unknown): ErrorCode {
  return isMailharborError(error) ? error.code : "INTERNAL";
}

/** Prisma / pg error codes that mean "the database cannot answer right now". */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "57014",
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08001",
  "08003",
  "08006",
  "P1001",
  "P1002",
  "P1017",
  "P2024",
]);

/** Turns low-level database failures into DB_UNAVAILABLE and unique violations into CONFLICT. */
export function classifyDbError(error: unknown): MailharborError {
  if (error instanceof MailharborError) return error;
  const e = error as {
    code?: string;
    message?: string;
    cause?: { code?: string; originalCode?: string };
    meta?: { driverAdapterError?: { cause?: { originalCode?: string; kind?: string } } };
  };
  const codes = [e?.code, e?.cause?.code, e?.cause?.originalCode, e?.meta?.driverAdapterError?.cause?.originalCode];
  if (e?.code === "P2002" || codes.includes("23505")) return new MailharborError("CONFLICT");
  const message = String(e?.message ?? "");
  if (
    codes.some((c) => c && UNAVAILABLE_CODES.has(c)) ||
    /ECONNREFUSED|Connection terminated|connection.*(closed|refused|ended)|terminating connection|the database system is (shutting down|starting up)|is not currently accepting connections|Can't reach database|DatabaseNotReachable|timeout exceeded when trying to connect|Query read timeout|statement timeout/i.test(
      message,
    )
  ) {
    return new MailharborError("DB_UNAVAILABLE", "the database is not available");
  }
  return new MailharborError("INTERNAL", message || "internal error");
}
