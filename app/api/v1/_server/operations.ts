// Every operation of the API in one table: method, path, the scope it needs, what it takes and what
// it answers. The route handlers take their checks from it and the OpenAPI document is written
// from it, so the document cannot leave out a route or describe one differently.
import { z } from "zod";
import * as out from "./resources.ts";
import type { ApiScopeName } from "@/lib/api-tokens/api-tokens.ts";
import { customerCreateSchema } from "@/lib/customers/customers.ts";
import { domainCreateSchema, domainSettingsSchema } from "@/lib/domains/domains.ts";
import { loginCreateSchema, loginRotateSchema } from "@/lib/logins/logins.ts";
import { DELIVERY_STATES } from "@/lib/queue/delivery-state.ts";
import { SESSION_RESULTS } from "@/lib/sessions/list-sessions.ts";

export interface Operation {
  operationId: string;
  method: "GET" | "POST" | "PATCH";
  /** OpenAPI path under /api/v1, with {id} for the path parameter */
  path: string;
  scope: ApiScopeName;
  summary: string;
  /** query parameters (all strings on the wire; the core converts and checks them) */
  query?: z.ZodObject;
  /** a JSON body; unknown fields are refused */
  body?: z.ZodType;
  /** the body may be left out entirely */
  bodyOptional?: boolean;
  status: 200 | 201 | 202;
  response: z.ZodType;
}

const text = (description: string) => z.string().optional().describe(description);
const MAX_ADDRESSES = 10_000;
const addresses = z.strictObject({
  addresses: z
    .array(z.string())
    .min(1, "give at least one address")
    .max(MAX_ADDRESSES, `at most ${MAX_ADDRESSES} addresses per call`)
    .describe("addresses, or bare local parts meaning addresses in the domain"),
});

function op<const O extends Operation>(operation: O): O {
  return operation;
}

export const operations = {
  listCustomers: op({
    operationId: "listCustomers",
    method: "GET",
    path: "/customers",
    scope: "read",
    status: 200,
    summary: "List customers (ISP-wide tokens only)",
    query: z.strictObject({
      search: text("part of the name or contact e-mail"),
      limit: z.coerce.number().int().min(1).max(500).default(100).describe("1-500, default 100"),
      offset: z.coerce.number().int().min(0).default(0).describe("skip this many"),
    }),
    response: out.customerListSchema,
  }),
  createCustomer: op({
    operationId: "createCustomer",
    method: "POST",
    path: "/customers",
    scope: "provision",
    status: 201,
    summary: "Create a customer",
    body: z.strictObject(customerCreateSchema.shape),
    response: out.customerSchema,
  }),
  getCustomer: op({
    operationId: "getCustomer",
    method: "GET",
    path: "/customers/{id}",
    scope: "read",
    status: 200,
    summary: "A customer, by id or exact name",
    response: out.customerSchema,
  }),
  suspendCustomer: op({
    operationId: "suspendCustomer",
    method: "POST",
    path: "/customers/{id}/suspend",
    scope: "provision",
    status: 200,
    summary: "Suspend a customer: its ATRN is refused and its inbound mail deferred",
    response: out.customerSchema,
  }),
  resumeCustomer: op({
    operationId: "resumeCustomer",
    method: "POST",
    path: "/customers/{id}/resume",
    scope: "provision",
    status: 200,
    summary: "Lift a suspension",
    response: out.customerSchema,
  }),
  listLogins: op({
    operationId: "listLogins",
    method: "GET",
    path: "/logins",
    scope: "read",
    status: 200,
    summary: "List ODMR logins",
    query: z.strictObject({ customer: text("a customer id or exact name") }),
    response: out.loginListSchema,
  }),
  createLogin: op({
    operationId: "createLogin",
    method: "POST",
    path: "/logins",
    scope: "provision",
    status: 201,
    summary: "Create an ODMR login; the answer carries its secret, shown this once",
    body: z.strictObject(loginCreateSchema.shape),
    response: out.loginSecretSchema,
  }),
  getLogin: op({
    operationId: "getLogin",
    method: "GET",
    path: "/logins/{id}",
    scope: "read",
    status: 200,
    summary: "A login, by id or login name",
    response: out.loginSchema,
  }),
  rotateLogin: op({
    operationId: "rotateLogin",
    method: "POST",
    path: "/logins/{id}/rotate",
    scope: "provision",
    status: 200,
    summary: "Issue a new secret (shown this once); the old ones keep working for keepOldHours (default 24)",
    body: z.strictObject(loginRotateSchema.shape).partial(),
    bodyOptional: true,
    response: out.loginSecretSchema,
  }),
  disableLogin: op({
    operationId: "disableLogin",
    method: "POST",
    path: "/logins/{id}/disable",
    scope: "provision",
    status: 200,
    summary: "Stop a login from authenticating",
    response: out.loginSchema,
  }),
  enableLogin: op({
    operationId: "enableLogin",
    method: "POST",
    path: "/logins/{id}/enable",
    scope: "provision",
    status: 200,
    summary: "Let a disabled login authenticate again",
    response: out.loginSchema,
  }),
  listDomains: op({
    operationId: "listDomains",
    method: "GET",
    path: "/domains",
    scope: "read",
    status: 200,
    summary: "List hosted domains with their held counts",
    query: z.strictObject({ customer: text("a customer id or exact name") }),
    response: out.domainListSchema,
  }),
  createDomain: op({
    operationId: "createDomain",
    method: "POST",
    path: "/domains",
    scope: "provision",
    status: 201,
    summary: "Host a domain for a customer",
    body: z.strictObject(domainCreateSchema.shape),
    response: out.domainSchema,
  }),
  getDomain: op({
    operationId: "getDomain",
    method: "GET",
    path: "/domains/{id}",
    scope: "read",
    status: 200,
    summary: "A domain and its settings, by id or name",
    response: out.domainSchema,
  }),
  updateDomain: op({
    operationId: "updateDomain",
    method: "PATCH",
    path: "/domains/{id}",
    scope: "provision",
    status: 200,
    summary: "Change a domain's settings (only the fields given)",
    body: z.strictObject(domainSettingsSchema.shape),
    response: out.domainSchema,
  }),
  listRecipients: op({
    operationId: "listRecipients",
    method: "GET",
    path: "/domains/{id}/recipients",
    scope: "read",
    status: 200,
    summary: "The domain's recipient list",
    response: out.recipientListSchema,
  }),
  addRecipients: op({
    operationId: "addRecipients",
    method: "POST",
    path: "/domains/{id}/recipients",
    scope: "provision",
    status: 200,
    summary: "Add recipients; the answer says what happened to each address (valid ones are added even when others are rejected)",
    body: addresses,
    response: out.recipientReportSchema,
  }),
  removeRecipients: op({
    operationId: "removeRecipients",
    method: "POST",
    path: "/domains/{id}/recipients/remove",
    scope: "provision",
    status: 200,
    summary: "Remove recipients",
    body: addresses,
    response: out.recipientRemovalSchema,
  }),
  deliverNow: op({
    operationId: "deliverNow",
    method: "POST",
    path: "/domains/{id}/deliver-now",
    scope: "queue",
    status: 202,
    summary: "Ask for the domain's held mail to go to its ETRN target now; a mailer takes the request within seconds",
    response: out.releaseSchema,
  }),
  listQueue: op({
    operationId: "listQueue",
    method: "GET",
    path: "/queue",
    scope: "read",
    status: 200,
    summary: "Messages in the queue, newest first",
    query: z.strictObject({
      state: z
        .enum(["held", ...DELIVERY_STATES])
        .optional()
        .describe("held (queued or delivering, the default) or one delivery state"),
      domain: text("a domain id or name"),
      customerId: text("a customer id"),
      sender: text("part of the envelope sender"),
      q: text("part of the envelope sender or the subject"),
      olderThanHours: text("received more than this many hours ago"),
      newerThanHours: text("received less than this many hours ago"),
      before: text("the page after this queue id (older messages)"),
      after: text("the page before this queue id (newer messages)"),
      limit: text("1-1000, default 50"),
    }),
    response: out.queuePageSchema,
  }),
  listSessions: op({
    operationId: "listSessions",
    method: "GET",
    path: "/sessions",
    scope: "read",
    status: 200,
    summary: "ODMR (ATRN) and ETRN sessions, newest first",
    query: z.strictObject({
      customerId: text("a customer id"),
      loginId: text("a login id"),
      result: z.enum(SESSION_RESULTS).optional(),
      kind: z.enum(["atrn", "etrn"]).optional(),
      domain: text("sessions that asked for this domain"),
      before: text("nextCursor of the previous page"),
      limit: text("1-200, default 50"),
    }),
    response: out.sessionListSchema,
  }),
} satisfies Record<string, Operation>;
