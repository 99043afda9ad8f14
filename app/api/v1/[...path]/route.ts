// Any other path under /api/v1 answers in the API's error format instead of the portal's HTML page.
import { errorResponse } from "../_server/api-route.ts";
import { MailharborError } from "@/lib/errors.ts";

function notFound(): Response {
  return errorResponse(new MailharborError("NOT_FOUND", "no such API path (see /api/v1/openapi.json)"));
}

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
