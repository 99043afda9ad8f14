// The OpenAPI 3.1 document of the API, written from the operation table and its zod schemas
// (OpenAPI 3.1 schemas are JSON Schema 2020-12, which z.toJSONSchema writes).
import { z } from "zod";
import { operations, type Operation } from "./operations.ts";
import { errorSchema } from "./resources.ts";
import { API_SCOPES } from "@/lib/api-tokens/api-tokens.ts";

function schemaOf(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" }) as Record<string, unknown>;
  return json;
}

const ERRORS: Record<string, string> = {
  400: "invalid input (INVALID_INPUT)",
  401: "no valid token: missing, malformed, unknown or revoked (AUTH_FAILED)",
  403: "the token lacks the scope, or a customer's token asked for an ISP-only operation (FORBIDDEN)",
  404: "no such object, or not one this token may see (NOT_FOUND)",
  409: "it already exists, or mail is still held (CONFLICT, HAS_HELD_MAIL)",
  503: "the database is not available (DB_UNAVAILABLE)",
};

function describe(operation: Operation) {
  const parameters: Record<string, unknown>[] = [];
  if (operation.path.includes("{id}")) {
    parameters.push({ name: "id", in: "path", required: true, schema: { type: "string" }, description: "the object's id or its name" });
  }
  for (const [name, field] of Object.entries(operation.query?.shape ?? {})) {
    const schema = schemaOf(field as z.ZodType, "input");
    const { description, ...rest } = schema;
    parameters.push({ name, in: "query", required: false, schema: rest, ...(description ? { description } : {}) });
  }
  const errorContent = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    description: `Needs the \`${operation.scope}\` scope.`,
    "x-scope": operation.scope,
    ...(parameters.length ? { parameters } : {}),
    ...(operation.body
      ? {
          requestBody: { required: !operation.bodyOptional, content: { "application/json": { schema: schemaOf(operation.body, "input") } } },
        }
      : {}),
    responses: {
      [operation.status]: { description: "success", content: { "application/json": { schema: schemaOf(operation.response, "output") } } },
      ...Object.fromEntries(Object.entries(ERRORS).map(([status, description]) => [status, { description, content: errorContent }])),
    },
  };
}

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of Object.values(operations) as Operation[]) {
    paths[operation.path] ??= {};
    paths[operation.path][operation.method.toLowerCase()] = describe(operation);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Mailharbor API",
      version: "1",
      description:
        "Provisioning and inspection for an ISP's billing system, over the same rules as the portal and the CLI. " +
        `Send \`Authorization: Bearer mh_…\`; tokens have scopes (${API_SCOPES.join(", ")}) and optionally one customer, whose objects alone they reach.`,
    },
    servers: [{ url: "/api/v1" }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "an API token (mh_…) from the portal's API tokens page or `mailharbor token add`" },
      },
      schemas: { Error: schemaOf(errorSchema, "output") },
    },
  };
}
