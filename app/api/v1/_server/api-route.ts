// The one wrapper every /api/v1 route handler goes through: bearer token -> actor, scope check,
// query and JSON body checked against the operation's schemas, the answer parsed through its
// response schema, errors as {"error": {"code", "message"}} with the status from httpStatusFor,
// and one audit row per authenticated call naming the token. Tokens travel only in the
// Authorization header, never in cookies, so a browser cannot be made to send one cross-site
// (no CSRF); the portal's next-auth session is not looked at here at all.
import type { z } from "zod";
import { httpStatusFor } from "./http-status.ts";
import type { Operation } from "./operations.ts";
import { project } from "./resources.ts";
import type { Actor } from "@/lib/actor.ts";
import { authenticateApiToken, type ApiCaller } from "@/lib/api-tokens/authenticate-api-token.ts";
import { recordAuditEvent } from "@/lib/audit/record-audit-event.ts";
import { getDb } from "@/lib/db/client.ts";
import { MailharborError, isMailharborError } from "@/lib/errors.ts";
import { logger } from "@/lib/log/logger.ts";
import { parseInput } from "@/lib/validation/parse-input.ts";

const log = logger.child({ component: "api" });

/** Large enough for 10,000 recipients per call. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

const HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

export function jsonResponse(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...HEADERS, ...extra } });
}

export function errorResponse(error: MailharborError): Response {
  // RFC 6750 §3: a 401 names the scheme the client should use
  const extra: Record<string, string> = error.code === "AUTH_FAILED" ? { "www-authenticate": 'Bearer realm="mailharbor"' } : {};
  return jsonResponse(httpStatusFor(error.code), { error: { code: error.code, message: error.message } }, extra);
}

type Input<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ApiContext<O extends Operation> {
  actor: Actor;
  caller: ApiCaller;
  /** the path parameter, for paths with {id} */
  id: string;
  query: Input<O["query"]>;
  body: Input<O["body"]>;
}

function readQuery(operation: Operation, url: URL): unknown {
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key in query) throw new MailharborError("INVALID_INPUT", `${key}: given more than once`, { field: key });
    query[key] = value;
  }
  if (!operation.query) {
    if (Object.keys(query).length) throw new MailharborError("INVALID_INPUT", "this operation takes no query parameters");
    return undefined;
  }
  return parseInput(operation.query, query);
}

async function readBody(operation: Operation, request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw new MailharborError("INVALID_INPUT", `the body is larger than ${MAX_BODY_BYTES} bytes`);
  const raw = Buffer.from(await request.arrayBuffer());
  if (raw.length > MAX_BODY_BYTES) throw new MailharborError("INVALID_INPUT", `the body is larger than ${MAX_BODY_BYTES} bytes`);
  if (!operation.body) {
    if (raw.length) throw new MailharborError("INVALID_INPUT", "this operation takes no body");
    return undefined;
  }
  if (!raw.length) {
    if (operation.bodyOptional) return parseInput(operation.body, {});
    throw new MailharborError("INVALID_INPUT", "a JSON body is required");
  }
  if (!/^application\/json\s*(;|$)/i.test(request.headers.get("content-type") ?? "")) {
    throw new MailharborError("INVALID_INPUT", "send the body as JSON (Content-Type: application/json)");
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new MailharborError("INVALID_INPUT", "the body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new MailharborError("INVALID_INPUT", "the body must be a JSON object");
  return parseInput(operation.body, body);
}

async function auditCall(caller: ApiCaller, request: Request, url: URL, status: number, code: string | null): Promise<void> {
  try {
    await getDb().$transaction((tx) =>
      recordAuditEvent(tx, caller.actor, {
        action: "api.call",
        objectType: "api_token",
        objectId: caller.tokenId,
        customerId: caller.customerId,
        details: { token: caller.name, method: request.method, path: url.pathname, status, ...(code ? { code } : {}) },
      }),
    );
  } catch (error) {
    log.error({ code: "API_AUDIT_FAILED", err: error, token: caller.name }, "could not record an API call in the audit log");
  }
}

export function apiRoute<O extends Operation>(operation: O, work: (context: ApiContext<O>) => Promise<unknown>) {
  return async (request: Request, route: { params?: Promise<Record<string, string | string[]> | undefined> }): Promise<Response> => {
    const url = new URL(request.url);
    let caller: ApiCaller | undefined;
    let response: Response;
    let code: string | null = null;
    try {
      caller = await authenticateApiToken(request.headers.get("authorization"));
      if (!caller.scopes.includes(operation.scope)) {
        throw new MailharborError("FORBIDDEN", `this token lacks the "${operation.scope}" scope`);
      }
      // routes without a path parameter get no params at all
      const params = (await route.params) ?? {};
      const query = readQuery(operation, url);
      const body = await readBody(operation, request);
      const result = await work({ actor: caller.actor, caller, id: typeof params.id === "string" ? params.id : "", query, body } as ApiContext<O>);
      response = jsonResponse(operation.status, project(operation.response, result));
    } catch (thrown) {
      const error = isMailharborError(thrown) ? thrown : new MailharborError("INTERNAL", "internal error");
      if (!isMailharborError(thrown) || error.code === "INTERNAL" || error.code === "DB_UNAVAILABLE") {
        log.error({ code: "API_CALL_FAILED", err: thrown, token: caller?.name, method: request.method, path: url.pathname }, "API call failed");
      } else if (error.code === "AUTH_FAILED") {
        log.warn(
          { code: "API_AUTH_FAILED", method: request.method, path: url.pathname, client: request.headers.get("x-forwarded-for") },
          "API call without a valid token",
        );
      }
      code = error.code;
      response = errorResponse(error);
    }
    if (caller) await auditCall(caller, request, url, response.status, code);
    return response;
  };
}
