// The `mailharbor` command: provisioning and inspection for scripts and the ISP's billing system.
// Every command takes --json and then prints exactly one JSON document; errors exit non-zero
// with one line on stderr.
import {
  bounceHoldJson,
  customerJson,
  customerListJson,
  domainJson,
  domainListJson,
  loginCreatedJson,
  loginListJson,
  loginRestrictedJson,
  loginRotatedJson,
  loginStatusJson,
  passwordResetJson,
  queueListJson,
  recipientsAddedJson,
  releaseJson,
  tokenCreatedJson,
  tokenListJson,
  tokenRevokedJson,
  twoFactorResetJson,
  userCreatedJson,
} from "./json-output.ts";
import { CLI_ACTOR } from "../lib/actor.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../lib/api-tokens/api-tokens.ts";
import { createCustomer, getCustomer, listCustomers, setCustomerStatus } from "../lib/customers/customers.ts";
import { openToolDatabase } from "../lib/db/open-tool-database.ts";
import { createDomain, listDomains, updateDomain, type DomainSettings } from "../lib/domains/domains.ts";
import { MailharborError, isMailharborError, type ErrorCode } from "../lib/errors.ts";
import { requestEtrnRelease } from "../lib/etrn/release-requests.ts";
import { createLogin, listLogins, restrictLogin, rotateLogin, setLoginStatus } from "../lib/logins/logins.ts";
import { resolveBounceHold } from "../lib/protection/resolve-bounce-hold.ts";
import { DELIVERY_STATES } from "../lib/queue/delivery-state.ts";
import { searchQueue } from "../lib/queue/search-queue.ts";
import { addRecipients } from "../lib/recipients/recipients.ts";
import { resetTwoFactor } from "../lib/users/two-factor.ts";
import { createPortalUser, resetPortalUserPassword } from "../lib/users/users.ts";

interface Parsed {
  flags: Map<string, string | true>;
  positional: string[];
}

interface Command {
  usage: string;
  summary: string;
  /** flags that take a value; every other known flag is a switch */
  values: string[];
  switches?: string[];
  positional?: boolean;
  run(args: Parsed): Promise<{ json: unknown; text: string }>;
}

const EXIT: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: 2,
  NOT_FOUND: 3,
  CONFLICT: 4,
  HAS_HELD_MAIL: 4,
  DB_UNAVAILABLE: 5,
  CONFIG_INVALID: 2,
  DATA_DIR_IN_USE: 5,
};

function usageError(message: string): never {
  throw new MailharborError("INVALID_INPUT", message);
}

function required(args: Parsed, name: string): string {
  const value = args.flags.get(name);
  if (value === undefined || value === true) usageError(`--${name} is required`);
  return value;
}

function optional(args: Parsed, name: string): string | undefined {
  const value = args.flags.get(name);
  return value === true ? undefined : value;
}

function onOff(args: Parsed, name: string): boolean | undefined {
  const value = optional(args, name);
  if (value === undefined) return undefined;
  if (value === "on") return true;
  if (value === "off") return false;
  usageError(`--${name} takes on or off`);
}

function integer(args: Parsed, name: string): number | undefined {
  const value = optional(args, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) usageError(`--${name} takes a whole number, got "${value}"`);
  return Number(value);
}

/** A flag that takes one of `choices`, typed as that union. */
function choice<T extends string>(args: Parsed, name: string, choices: readonly T[]): T | undefined {
  const value = optional(args, name);
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value))
    usageError(`--${name} must be ${choices.length === 2 ? choices.join(" or ") : `one of ${choices.join(", ")}`}, got "${value}"`);
  return value as T;
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

const COMMANDS: Record<string, Command> = {
  "customer add": {
    usage: "customer add --name NAME [--email ADDR]",
    summary: "create a customer",
    values: ["name", "email"],
    async run(args) {
      const customer = await createCustomer(CLI_ACTOR, { name: required(args, "name"), email: optional(args, "email") });
      return { json: customerJson(customer), text: `customer ${customer.name} created (id ${customer.id})` };
    },
  },
  "customer list": {
    usage: "customer list [--search TEXT]",
    summary: "list customers",
    values: ["search"],
    async run(args) {
      const result = await listCustomers(CLI_ACTOR, { search: optional(args, "search"), take: 500 });
      return { json: customerListJson(result), text: result.items.map((c) => `${c.id}  ${c.status.padEnd(9)}  ${c.name}`).join("\n") || "no customers" };
    },
  },
  "customer suspend": {
    usage: "customer suspend --customer ID|NAME",
    summary: "refuse the customer's ATRN and defer its inbound mail",
    values: ["customer"],
    async run(args) {
      const customer = await setCustomerStatus(CLI_ACTOR, required(args, "customer"), "suspended");
      return { json: customerJson(customer), text: `customer ${customer.name} suspended` };
    },
  },
  "customer resume": {
    usage: "customer resume --customer ID|NAME",
    summary: "lift a suspension",
    values: ["customer"],
    async run(args) {
      const customer = await setCustomerStatus(CLI_ACTOR, required(args, "customer"), "active");
      return { json: customerJson(customer), text: `customer ${customer.name} resumed` };
    },
  },
  "login add": {
    usage: "login add --customer ID|NAME --login LOGIN [--password PW]",
    summary: "create an ODMR login (prints a generated secret once)",
    values: ["customer", "login", "password"],
    async run(args) {
      const { login, secret } = await createLogin(CLI_ACTOR, {
        customer: required(args, "customer"),
        login: required(args, "login"),
        secret: optional(args, "password"),
      });
      return {
        json: loginCreatedJson(login, secret),
        text: `login ${login.login} created\nsecret: ${secret}\n(shown once: store it now)`,
      };
    },
  },
  "login rotate": {
    usage: "login rotate --login LOGIN [--keep-old-hours N] [--password PW]",
    summary: "issue a new secret; the old one keeps working for N hours (default 24)",
    values: ["login", "keep-old-hours", "password"],
    async run(args) {
      const result = await rotateLogin(CLI_ACTOR, required(args, "login"), {
        keepOldHours: integer(args, "keep-old-hours"),
        secret: optional(args, "password"),
      });
      return {
        json: loginRotatedJson(result),
        text: `login ${result.login} rotated\nsecret: ${result.secret}\nold secrets stop working at ${result.oldSecretsExpireAt.toISOString()}`,
      };
    },
  },
  "login disable": {
    usage: "login disable --login LOGIN",
    summary: "stop a login from authenticating",
    values: ["login"],
    async run(args) {
      const login = await setLoginStatus(CLI_ACTOR, required(args, "login"), "disabled");
      return { json: loginStatusJson(login), text: `login ${login.login} disabled` };
    },
  },
  "login enable": {
    usage: "login enable --login LOGIN",
    summary: "let a disabled login authenticate again",
    values: ["login"],
    async run(args) {
      const login = await setLoginStatus(CLI_ACTOR, required(args, "login"), "active");
      return { json: loginStatusJson(login), text: `login ${login.login} enabled` };
    },
  },
  "login restrict": {
    usage: "login restrict --login LOGIN (--domains D1,D2 | --all)",
    summary: "limit which of the customer's domains a login may collect",
    values: ["login", "domains"],
    switches: ["all"],
    async run(args) {
      const domains = args.flags.has("all") ? null : list(required(args, "domains"))!;
      await restrictLogin(CLI_ACTOR, required(args, "login"), domains);
      return {
        json: loginRestrictedJson(required(args, "login"), domains),
        text: domains ? `login may collect ${domains.join(", ")}` : "login may collect all of its customer's domains",
      };
    },
  },
  "login list": {
    usage: "login list [--customer ID|NAME]",
    summary: "list ODMR logins",
    values: ["customer"],
    async run(args) {
      const ref = optional(args, "customer");
      const customerId = ref ? (await getCustomer(CLI_ACTOR, ref)).id : undefined;
      const logins = await listLogins(CLI_ACTOR, { customerId });
      const json = loginListJson(logins);
      return { json, text: json.map((l) => `${l.login.padEnd(24)} ${l.status.padEnd(8)} ${l.customer}`).join("\n") || "no logins" };
    },
  },
  "domain add": {
    usage:
      "domain add --customer ID|NAME --domain DOMAIN [--accept-all] [--recipients a@d,b@d] [--recipient-delimiter CHARS] [--retention-days N] [--max-size BYTES]",
    summary: "host a domain for a customer",
    values: ["customer", "domain", "recipients", "recipient-delimiter", "retention-days", "max-size"],
    switches: ["accept-all"],
    async run(args) {
      const domain = await createDomain(CLI_ACTOR, {
        customer: required(args, "customer"),
        name: required(args, "domain"),
        recipientPolicy: args.flags.has("accept-all") ? "accept_all" : "listed",
        recipients: list(optional(args, "recipients")),
        recipientDelimiter: optional(args, "recipient-delimiter"),
        retentionDays: integer(args, "retention-days"),
        maxMessageSize: integer(args, "max-size"),
      });
      return {
        json: domainJson(domain),
        text: `domain ${domain.name} added (${domain.recipientPolicy === "accept_all" ? "accepts any local part" : "listed recipients only"})`,
      };
    },
  },
  "domain set": {
    usage:
      "domain set --domain D [--etrn-target HOST:PORT] [--etrn on|off] [--atrn on|off] [--etrn-from CIDR,...] [--etrn-tls opportunistic|required|none] [--accept-all on|off] [--recipient-delimiter CHARS] [--accepting on|off] [--retention-days N] [--max-size BYTES] [--bounce-protection PERCENT|off]",
    summary: "change a domain's settings ('' as --recipient-delimiter turns extensions off)",
    values: [
      "domain",
      "etrn-target",
      "etrn",
      "atrn",
      "etrn-from",
      "etrn-tls",
      "accept-all",
      "recipient-delimiter",
      "accepting",
      "retention-days",
      "max-size",
      "bounce-protection",
    ],
    async run(args) {
      const acceptAll = onOff(args, "accept-all");
      const target = optional(args, "etrn-target");
      const settings: DomainSettings = {
        etrnEnabled: onOff(args, "etrn"),
        atrnEnabled: onOff(args, "atrn"),
        etrnTarget: target === undefined ? undefined : target === "" || target === "none" ? null : target,
        etrnFrom: list(optional(args, "etrn-from")),
        etrnTls: choice(args, "etrn-tls", ["opportunistic", "required", "none"] as const),
        recipientPolicy: acceptAll === undefined ? undefined : acceptAll ? "accept_all" : "listed",
        recipientDelimiter: optional(args, "recipient-delimiter"),
        acceptInbound: onOff(args, "accepting"),
        retentionDays: integer(args, "retention-days"),
        maxMessageSize: integer(args, "max-size"),
        bounceProtectionPercent: optional(args, "bounce-protection") === "off" ? null : integer(args, "bounce-protection"),
      };
      const domain = await updateDomain(CLI_ACTOR, required(args, "domain"), settings);
      return { json: domainJson(domain), text: `domain ${domain.name} updated` };
    },
  },
  "domain release": {
    usage: "domain release --domain D",
    summary: "ask the mailer to deliver the domain's held mail to its ETRN target now",
    values: ["domain"],
    async run(args) {
      const request = await requestEtrnRelease(CLI_ACTOR, required(args, "domain"));
      return {
        json: releaseJson(request),
        text: `release of ${request.domain} requested; a mailer takes it within seconds (see the session list for the run)`,
      };
    },
  },
  "domain hold": {
    usage: "domain hold --domain D (--bounce | --retry)",
    summary: "end a bounce-protection hold: bounce the refused mail now (DSNs), or let the next session retry it",
    values: ["domain"],
    switches: ["bounce", "retry"],
    async run(args) {
      const bounce = args.flags.has("bounce");
      if (bounce === args.flags.has("retry")) usageError("give one of --bounce or --retry");
      const done = await resolveBounceHold(CLI_ACTOR, required(args, "domain"), bounce ? "bounce" : "retry");
      return {
        json: bounceHoldJson(done),
        text: bounce
          ? `${done.deliveries} held refusals of ${done.domain} bounced, ${done.dsns} DSNs`
          : `${done.domain}: hold cleared, ${done.deliveries} refusals are retried at the next session`,
      };
    },
  },
  "domain list": {
    usage: "domain list [--customer ID|NAME]",
    summary: "list hosted domains with their held counts",
    values: ["customer"],
    async run(args) {
      const ref = optional(args, "customer");
      const customerId = ref ? (await getCustomer(CLI_ACTOR, ref)).id : undefined;
      const domains = await listDomains(CLI_ACTOR, { customerId });
      return {
        json: domainListJson(domains),
        text: domains.map((d) => `${d.name.padEnd(32)} ${String(d.held).padStart(7)} held  ${d.customer.name}`).join("\n") || "no domains",
      };
    },
  },
  "recipient add": {
    usage: "recipient add --domain DOMAIN ADDR...",
    summary: "list recipients of a domain",
    values: ["domain"],
    positional: true,
    async run(args) {
      if (!args.positional.length) usageError("give at least one address");
      const report = await addRecipients(CLI_ACTOR, required(args, "domain"), args.positional);
      if (report.rejected.length) {
        throw new MailharborError("INVALID_INPUT", `rejected: ${report.rejected.map((r) => `${r.input} (${r.reason})`).join("; ")}`, { report });
      }
      return { json: recipientsAddedJson(report), text: `${report.added.length} added, ${report.existing.length} already listed` };
    },
  },
  "user add": {
    usage: "user add --email ADDR --role staff|customer [--customer ID|NAME] [--password PW]",
    summary: "create a portal user (a generated password is printed once and is one-time; --password must meet the policy)",
    values: ["email", "role", "customer", "password"],
    async run(args) {
      const { user, password } = await createPortalUser(CLI_ACTOR, {
        email: required(args, "email"),
        role: choice(args, "role", ["staff", "customer"] as const) ?? usageError("--role is required"),
        customer: optional(args, "customer"),
        password: optional(args, "password"),
      });
      const generated = optional(args, "password") === undefined;
      return {
        json: userCreatedJson(user, generated ? password : undefined),
        text: `user ${user.email} (${user.role}) created${generated ? `\npassword: ${password}\n(shown once)` : ""}`,
      };
    },
  },
  "user reset-password": {
    usage: "user reset-password --email ADDR",
    summary: "give a portal user a new one-time password (printed once); their sessions end",
    values: ["email"],
    async run(args) {
      const { user, password } = await resetPortalUserPassword(CLI_ACTOR, required(args, "email"));
      return {
        json: passwordResetJson(user, password),
        text: `user ${user.email}: one-time password ${password}\n(shown once; they must change it when they sign in)`,
      };
    },
  },
  "user reset-2fa": {
    usage: "user reset-2fa --email ADDR",
    summary: "turn a portal user's two-factor sign-in off (a lost phone)",
    values: ["email"],
    async run(args) {
      await resetTwoFactor(CLI_ACTOR, required(args, "email"));
      return { json: twoFactorResetJson(required(args, "email").toLowerCase()), text: `user ${required(args, "email")}: two-factor sign-in is off` };
    },
  },
  "token add": {
    usage: "token add --name NAME --scopes read,provision,queue [--customer ID|NAME]",
    summary: "create an HTTP API token (prints it once); with --customer it reaches only that customer",
    values: ["name", "scopes", "customer"],
    async run(args) {
      const { token, secret } = await createApiToken(CLI_ACTOR, {
        name: required(args, "name"),
        scopes: list(required(args, "scopes"))!,
        customer: optional(args, "customer"),
      });
      return {
        json: tokenCreatedJson(token, secret),
        text: `API token ${token.name} created (${token.scopes.join(", ")}${token.customer ? `, customer ${token.customer.name}` : ", all customers"})\ntoken: ${secret}\n(shown once: store it now)`,
      };
    },
  },
  "token list": {
    usage: "token list",
    summary: "list HTTP API tokens (never the tokens themselves)",
    values: [],
    async run() {
      const tokens = await listApiTokens(CLI_ACTOR);
      const json = tokenListJson(tokens);
      const text = json.map(
        (t) =>
          `${t.name.padEnd(24)} ${t.prefix}…  ${t.scopes.join(",").padEnd(20)} ${(t.customer ?? "all customers").padEnd(20)} ${t.revokedAt ? "revoked" : `last used ${t.lastUsedAt?.toISOString() ?? "never"}`}`,
      );
      return { json, text: text.join("\n") || "no API tokens" };
    },
  },
  "token revoke": {
    usage: "token revoke --token ID|NAME",
    summary: "revoke an HTTP API token for good",
    values: ["token"],
    async run(args) {
      const token = await revokeApiToken(CLI_ACTOR, required(args, "token"));
      return { json: tokenRevokedJson(token), text: `API token ${token.name} revoked` };
    },
  },
  "queue list": {
    usage: "queue list [--domain DOMAIN] [--state held|queued|delivering|delivered|bounced|expired] [--limit N]",
    summary: "held messages, newest first",
    values: ["domain", "state", "limit"],
    async run(args) {
      const state = choice(args, "state", ["held", ...DELIVERY_STATES] as const);
      const page = await searchQueue(CLI_ACTOR, { domain: optional(args, "domain"), state, limit: integer(args, "limit") ?? 50, exactCount: true });
      const result = queueListJson(page);
      const text = [
        `${result.total} messages`,
        ...result.items.map(
          (m) =>
            `${m.id}  ${m.receivedAt.toISOString()}  ${String(m.size).padStart(8)}  <${m.mailFrom}>  ${m.deliveries.map((d) => `${d.recipient}[${d.state}]`).join(" ")}`,
        ),
      ].join("\n");
      return { json: result, text };
    },
  },
};

function help(): string {
  const lines = Object.values(COMMANDS).map((c) => `  mailharbor ${c.usage}\n      ${c.summary}`);
  return `usage: mailharbor COMMAND [--json]\n\n${lines.join("\n")}\n\nEvery command takes --json and then prints one JSON document.`;
}

function parse(command: Command, argv: string[]): Parsed {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      if (!command.positional) usageError(`unexpected argument "${arg}"`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (command.values.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) usageError(`--${name} needs a value`);
      flags.set(name, value);
    } else if (command.switches?.includes(name) && eq < 0) {
      flags.set(name, true);
    } else {
      usageError(`unknown option --${name} (usage: mailharbor ${command.usage})`);
    }
  }
  return { flags, positional };
}

function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? Number(v) : v), 2);
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const rest = argv.filter((a) => a !== "--json");
  if (rest.length === 0 || rest[0] === "--help" || rest[0] === "-h" || rest[0] === "help") {
    process.stdout.write((json ? toJson({ commands: Object.values(COMMANDS).map((c) => c.usage) }) : help()) + "\n");
    return rest.length === 0 && !json ? 2 : 0;
  }
  const name = `${rest[0]} ${rest[1] ?? ""}`.trim();
  const command = COMMANDS[name];
  let database: { close(): Promise<void> } | undefined;
  try {
    if (!command) usageError(`unknown command "${name}" (see mailharbor --help)`);
    if (rest.includes("--help")) {
      process.stdout.write(json ? toJson({ usage: command.usage }) + "\n" : `usage: mailharbor ${command.usage}\n  ${command.summary}\n`);
      return 0;
    }
    const args = parse(command, rest.slice(2));
    database = await openToolDatabase();
    const result = await command.run(args);
    process.stdout.write((json ? toJson(result.json) : result.text) + "\n");
    return 0;
  } catch (error) {
    const known = isMailharborError(error) ? error : new MailharborError("INTERNAL", (error as Error)?.message ?? String(error));
    if (json) process.stdout.write(toJson({ error: { code: known.code, message: known.message } }) + "\n");
    process.stderr.write(`mailharbor: ${known.message}\n`);
    return EXIT[known.code] ?? 1;
  } finally {
    await database?.close().catch(() => undefined);
  }
}
