// What the API answers: one zod schema per resource. Every answer is parsed through its schema,
// which drops every field the schema does not name, so a secret column or an internal field can
// never reach a client by accident; the same schemas write the OpenAPI document.
import { z } from "zod";
import { DELIVERY_STATES } from "@/lib/queue/delivery-state.ts";
import { SESSION_RESULTS } from "@/lib/sessions/list-sessions.ts";

const timestamp = z.string().meta({ format: "date-time" });
const id = z.string().meta({ format: "uuid" });

export const customerSchema = z.object({
  id,
  name: z.string(),
  email: z.string().nullable(),
  status: z.enum(["active", "suspended"]),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const customerListSchema = z.object({
  total: z.number().int(),
  items: z.array(customerSchema.extend({ domainCount: z.number().int(), loginCount: z.number().int() })),
});

export const loginSchema = z.object({
  id,
  login: z.string(),
  customerId: id,
  customerName: z.string(),
  status: z.enum(["active", "disabled"]),
  /** "all" of the customer's domains, or the listed ones */
  domains: z.union([z.literal("all"), z.array(z.string())]),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  lastUsedIp: z.string().nullable(),
  secrets: z
    .array(z.object({ id, createdAt: timestamp, expiresAt: timestamp.nullable() }))
    .describe("the login's secrets (never their values); during a rotation the old ones expire"),
});

export const loginListSchema = z.object({ items: z.array(loginSchema) });

export const loginSecretSchema = z.object({
  login: loginSchema,
  secret: z.string().describe("shown this once; store it now"),
  oldSecretsExpireAt: timestamp.optional().describe("rotation only: when the previous secrets stop working"),
});

export const domainSchema = z.object({
  id,
  name: z.string(),
  customerId: id,
  recipientPolicy: z.enum(["listed", "accept_all"]),
  recipientDelimiter: z.string().describe("characters that start an address extension (joe+news@ is taken for a listed joe@); empty: none"),
  retentionDays: z.number().int(),
  maxMessageSize: z.number().int(),
  acceptInbound: z.boolean(),
  atrnEnabled: z.boolean(),
  etrnEnabled: z.boolean(),
  etrnTarget: z.string().nullable(),
  etrnTls: z.enum(["opportunistic", "required", "none"]),
  etrnFrom: z.array(z.string()),
  etrnRequestedAt: timestamp.nullable().describe("a deliver-now request waiting for a mailer"),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const domainListSchema = z.object({
  items: z.array(
    domainSchema.extend({
      customerName: z.string(),
      held: z.number().int().describe("held (queued or delivering) deliveries"),
      recipientCount: z.number().int(),
    }),
  ),
});

export const recipientListSchema = z.object({ items: z.array(z.object({ address: z.string(), createdAt: timestamp })) });

export const recipientReportSchema = z.object({
  added: z.array(z.string()),
  existing: z.array(z.string()).describe("already listed: not an error"),
  rejected: z.array(z.object({ line: z.number().int(), input: z.string(), reason: z.string() })),
});

export const recipientRemovalSchema = z.object({
  removed: z.array(z.string()),
  missing: z.array(z.string()).describe("were not listed"),
});

export const queuePageSchema = z.object({
  total: z.number().int().describe("all matching messages"),
  items: z.array(
    z.object({
      id: z.string().describe("queue id"),
      mailFrom: z.string(),
      size: z.number().int(),
      receivedAt: timestamp,
      fromHeader: z.string().nullable(),
      subject: z.string().nullable(),
      expiresAt: timestamp.nullable(),
      deliveries: z.array(
        z.object({
          recipient: z.string(),
          domain: z.string(),
          customer: z.string(),
          state: z.enum(DELIVERY_STATES),
          attempts: z.number().int(),
          lastError: z.string().nullable(),
        }),
      ),
    }),
  ),
  olderCursor: z.string().nullable().describe("pass as `before` for the next (older) page"),
  newerCursor: z.string().nullable().describe("pass as `after` for the previous (newer) page"),
});

export const releaseSchema = z.object({ domainId: id, domain: z.string(), requestedAt: timestamp });

export const sessionListSchema = z.object({
  items: z.array(
    z.object({
      id,
      kind: z.enum(["atrn", "etrn"]),
      loginId: id.nullable(),
      loginName: z.string().nullable(),
      customerId: id.nullable(),
      customerName: z.string().nullable(),
      remoteAddress: z.string(),
      tls: z.boolean(),
      domainsRequested: z.array(z.string()),
      reply: z.string().nullable(),
      result: z.enum(SESSION_RESULTS),
      messagesDelivered: z.number().int(),
      recipientsDelivered: z.number().int(),
      bytesDelivered: z.number().int(),
      startedAt: timestamp,
      endedAt: timestamp.nullable(),
      outcome: z.string().nullable(),
    }),
  ),
  nextCursor: z.string().nullable().describe("pass as `before` for the next page"),
});

export const errorSchema = z.object({
  error: z.object({
    code: z.string().describe("a stable code: INVALID_INPUT, AUTH_FAILED, FORBIDDEN, NOT_FOUND, CONFLICT, HAS_HELD_MAIL …"),
    message: z.string(),
  }),
});

/** Dates become ISO strings and bigints numbers, as JSON has them; then the schema keeps only its fields. */
export function project<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const json = JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? Number(v) : v)));
  return schema.parse(json);
}

type LoginRow = {
  allDomains: boolean;
  customer: { name: string };
  domains: { domain: { name: string } }[];
};

/** A login as the core reads it (getLogin, listLogins), in the API's shape. */
export function loginView<L extends LoginRow>(login: L) {
  return { ...login, customerName: login.customer.name, domains: login.allDomains ? ("all" as const) : login.domains.map((d) => d.domain.name) };
}
