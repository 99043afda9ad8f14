// Configuration: environment variables parsed and validated once at start.
// A wrong value stops the start with a message that names the variable.
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { MailharborError } from "../errors.ts";
import { isDomainName } from "../validation/domain-name.ts";
import { hostPortSchema } from "../validation/host-port.ts";
import { emailSchema } from "../validation/schemas.ts";

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const nonNegativeInt = z.coerce.number().int().min(0);

const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .optional(),
  MAILHARBOR_DATA_DIR: z.string().min(1).default("./data"),
  MX_PORT: port.default(25),
  ODMR_PORT: port.default(366),
  /** No IANA port exists for ODMR inside TLS; 1366 keeps the 366 in it and needs no privileges. */
  ODMRS_PORT: port.default(1366),
  PORT: port.default(3000),
  BIND_ADDRESS: z.string().min(1).default("0.0.0.0"),
  PORTAL_BIND_ADDRESS: z.string().min(1).default("0.0.0.0"),
  /** "1": a reverse proxy in front of the portal sets X-Forwarded-For (its last entry is the client) */
  TRUST_PROXY: z
    .enum(["0", "1"], { message: "must be 0 or 1" })
    .default("0")
    .transform((v) => v === "1"),
  MAIL_HOSTNAME: z
    .string()
    .refine((v) => isDomainName(v, { allowSingleLabel: true }), "must be a host name")
    .default(() => os.hostname()),
  /** The name customers dial for ODMR and hosted domains' MX records point to (one name for several mailers); unset: MAIL_HOSTNAME. */
  PUBLIC_HOSTNAME: z
    .string()
    .refine((v) => isDomainName(v), "must be a fully qualified host name")
    .optional(),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  SMARTHOST: hostPortSchema.optional(),
  MAILHARBOR_SECRET_KEY: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits (32 bytes)")
    .optional(),
  NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** what `npm start` runs: both by default; "mailer" or "portal" alone for more instances of one part */
  MAILHARBOR_COMPONENTS: z
    .string()
    .default("mailer,portal")
    .transform((v) =>
      v
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length > 0 && list.every((c) => c === "mailer" || c === "portal"), "a comma-separated list of mailer, portal"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** the `service` field of every log line: set by `npm start` for each process it runs (mailer, portal) */
  MAILHARBOR_COMPONENT: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, "lower-case letters, digits and -")
    .default("mailharbor"),
  /** Connections each database client of a process opens at most (the Prisma client and the queue pool each). */
  DATABASE_POOL_SIZE: positiveInt.max(1000).default(10),
  /** The staff user `npm start` creates when there is none yet. */
  INITIAL_ADMIN_EMAIL: emailSchema.default("admin@mailharbor.local"),
  /** The portal's public URL (next-auth's callbacks); unset: http://localhost:PORT. */
  NEXTAUTH_URL: z
    .string()
    .url("must be a URL")
    .regex(/^https?:\/\//, "must be an http:// or https:// URL")
    .optional(),
  MX_MAX_CONNECTIONS: positiveInt.default(1000),
  MX_MAX_CONNECTIONS_PER_IP: positiveInt.default(50),
  /** How long the MX waits for a client's next command or data block, in seconds (RFC 5321 §4.5.3.2.7: at least 5 minutes). */
  MX_IDLE_TIMEOUT: positiveInt.default(300),
  /** How long at most the MX may reuse a domain or recipient lookup; a change in the database ends the reuse when it commits. 0 looks up every RCPT. */
  MX_LOOKUP_CACHE_SECONDS: nonNegativeInt.default(60),
  /** Milliseconds the MX holds its 220 greeting; above 0 a client that talks before it gets 554 and is disconnected (Postfix postscreen's pregreet test). */
  MX_GREETING_DELAY_MS: nonNegativeInt.max(30000).default(0),
  /** A whole DATA transfer, from the 354 to the final dot, may take at most this many seconds (RFC 5321 §4.5.3.2.6: 10 minutes). */
  MX_DATA_TIMEOUT: positiveInt.max(3600).default(600),
  /** Megabytes of the MX's 256 MB in-transit memory that messages from one client address (IPv6: one /64) may hold together. */
  MX_MEMORY_PER_IP_MB: positiveInt.max(256).default(32),
  /** ODMR connections of both listeners together, before and after the turn-around; beyond it 421 at once. */
  ODMR_MAX_CONNECTIONS: positiveInt.default(500),
  /** ODMR connections from one client address (IPv6: one /64), both listeners, before and after the turn-around. */
  ODMR_MAX_CONNECTIONS_PER_IP: positiveInt.default(10),
  /** From connect to a successful AUTH on the ODMR listeners, at most this many seconds, however the time is spent. */
  ODMR_PREAUTH_SECONDS: positiveInt.max(3600).default(60),
  /** How often a running ATRN session re-checks that its login may still collect (and before each claim batch), in seconds. */
  ODMR_AUTH_RECHECK_SECONDS: positiveInt.max(60).default(5),
  /** More ATRN commands than this from one login within a minute get 450. */
  ATRN_RATE_PER_MINUTE: positiveInt.default(10),
  /** RFC 5321 §4.5.3.2 minimums for our side of the reversed session, in seconds. */
  REVERSE_GREETING_TIMEOUT: positiveInt.default(300),
  REVERSE_COMMAND_TIMEOUT: positiveInt.default(300),
  REVERSE_DATA_INIT_TIMEOUT: positiveInt.default(120),
  REVERSE_DATA_BLOCK_TIMEOUT: positiveInt.default(180),
  REVERSE_FINAL_DOT_TIMEOUT: positiveInt.default(600),
  /** A whole ODMR session (before and after the turn-around) may last this long. */
  ODMR_SESSION_MAX_SECONDS: positiveInt.default(4 * 3600),
  /** Before the turn-around, how long the ODMR listener waits for the customer's next command (RFC 5321 §4.5.3.2.7: 5 minutes). */
  ODMR_IDLE_TIMEOUT: positiveInt.default(300),
  /** Deliveries one ATRN session claims at a time (the next batch is claimed and read while this one is sent). */
  ODMR_CLAIM_BATCH: positiveInt.max(5000).default(200),
  /**
   * How many messages may be accepted by the customer before their results are on record: a final
   * dot waits only for the results of messages beyond it, and a customer offering CHUNKING and
   * PIPELINING gets up to this many transactions before the first one's replies come back (RFC
   * 3030 BDAT has no 354 to wait for). It is also how many messages a crash can leave accepted by
   * the customer but not on record, and so offered again.
   */
  ODMR_WINDOW: positiveInt.max(100).default(8),
  /** Failed authentication (ODMR, MX AUTH, portal): each failure past the third delays the next answer by this much more (ms), up to 8 s. */
  AUTH_DELAY_STEP_MS: nonNegativeInt.default(1000),
  /** Failed authentication: this many failures from one client address lock that address out … */
  AUTH_LOCK_AFTER: positiveInt.default(10),
  /** … for this many minutes. */
  AUTH_LOCK_MINUTES: positiveInt.default(15),
  /** "required": a staff user without two-factor sign-in (TOTP) must enrol before anything else in the portal. */
  PORTAL_STAFF_TOTP: z.enum(["optional", "required"], { message: "must be optional or required" }).default("optional"),
  /** An ETRN run waits this long for the TCP connection to the domain's target (Postfix's smtp_connect_timeout is 30 s). */
  ETRN_CONNECT_TIMEOUT: positiveInt.default(30),
  /** How often a mailer looks for "deliver now" requests from the portal or the CLI, in seconds. */
  ETRN_REQUEST_POLL_SECONDS: positiveInt.max(3600).default(5),
  /** More ETRN requests than this within a minute from one login (or, without AUTH, one address) get 458 (RFC 1985 §4). */
  ETRN_RATE_PER_MINUTE: positiveInt.default(10),
  LEASE_SECONDS: positiveInt.default(600),
  HOUSEKEEPING_INTERVAL_SECONDS: positiveInt.default(60),
  /** Days that finished mail (delivered, bounced, expired), sent DSNs and ended sessions stay visible before housekeeping removes them. */
  HISTORY_DAYS: positiveInt.max(3650).default(90),
  /** Hours after arrival at which senders are told their mail is still held; 0 = never. */
  DELAY_WARNING_HOURS: nonNegativeInt.default(0),
  SHUTDOWN_GRACE_SECONDS: nonNegativeInt.default(30),
  /** Where staff notifications (the daily digest) go by e-mail, through SMARTHOST; unset: shown in the portal only. */
  STAFF_NOTIFY_EMAIL: z
    .string()
    .regex(/^[^\s@<>]+@[^\s@<>]+$/, "must be an e-mail address")
    .optional(),
  /** A failed notification (webhook or e-mail) is tried again after this many seconds, doubling each time, 8 attempts in all. */
  NOTIFY_RETRY_BASE_SECONDS: positiveInt.max(86400).default(60),
  /** The mailer's Prometheus endpoint (GET /metrics); unset: no endpoint. */
  METRICS_PORT: port.optional(),
  /** Where METRICS_PORT listens; the loopback address unless the scraper is on another machine. */
  METRICS_BIND_ADDRESS: z.string().min(1).default("127.0.0.1"),
});

export type Config = z.infer<typeof schema> & { dataDir: string };

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0] ?? "configuration");
    throw new MailharborError("CONFIG_INVALID", `${name}: ${issue.message} (got ${JSON.stringify(env[name] ?? "")})`, { variable: name });
  }
  const config = parsed.data;
  if (Boolean(config.TLS_CERT_FILE) !== Boolean(config.TLS_KEY_FILE)) {
    const missing = config.TLS_CERT_FILE ? "TLS_KEY_FILE" : "TLS_CERT_FILE";
    throw new MailharborError("CONFIG_INVALID", `${missing}: must be set together with ${missing === "TLS_KEY_FILE" ? "TLS_CERT_FILE" : "TLS_KEY_FILE"}`, {
      variable: missing,
    });
  }
  return { ...config, dataDir: path.resolve(config.MAILHARBOR_DATA_DIR) };
}

let cached: Config | undefined;

/** The process's configuration, parsed on first use. */
export function getConfig(): Config {
  cached ??= loadConfig();
  return cached;
}

/**
 * Makes `env` the process's configuration (a tool that sets up its own database and data
 * directory, a test), instead of writing process.env for getConfig to find.
 */
export function useConfig(env: Record<string, string | undefined>): Config {
  cached = loadConfig(env);
  return cached;
}

const logSchema = schema.pick({ LOG_LEVEL: true, MAILHARBOR_COMPONENT: true });

/**
 * The logger's two settings, read when the logger is made (before the rest of the configuration
 * is). A wrong value falls back to the default here; loadConfig names it when the process loads
 * its configuration, and stops the start.
 */
export function logSettings(env: Record<string, string | undefined> = process.env): z.infer<typeof logSchema> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  const parsed = logSchema.safeParse(cleaned);
  return parsed.success ? parsed.data : logSchema.parse({});
}
