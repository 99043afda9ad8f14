// Back to the page that was asked for after logging in. The path travels as ?next= on the login
// page; only a path on this site is followed ("/staff/…"), never "//host" or "/\host", which
// browsers read as another site (an open redirect).
import { headers } from "next/headers";

/** Set by proxy.ts on every request to a signed-in area: the path and query asked for. */
export const RETURN_PATH_HEADER = "x-mailharbor-return-path";

/** A path on this site to go to after logging in, or null when `value` is not one. */
export function safeReturnPath(value: string | null | undefined): string | null {
  if (!value || value.length > 2000 || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return null;

  if (/[\x00-\x1f\x7f]/.test(value) || value === "/login" || value.startsWith("/login?") || value.startsWith("/api/")) return null;
  return value;
}

/** The login page, with the page this request asked for to come back to. */
export async function loginPathForThisRequest(): Promise<string> {
  const back = safeReturnPath((await headers()).get(RETURN_PATH_HEADER));
  return back && back !== "/" ? `/login?${new URLSearchParams({ next: back })}` : "/login";
}
