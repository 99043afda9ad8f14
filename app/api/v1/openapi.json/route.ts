// The API's description, public like any API reference (it holds no data).
import { jsonResponse } from "../_server/api-route.ts";
import { openApiDocument } from "../_server/openapi-document.ts";

export function GET(): Response {
  return jsonResponse(200, openApiDocument());
}
