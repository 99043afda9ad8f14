// Runs before the signed-in areas render: tells the pages which address was asked for
// (RETURN_PATH_HEADER), so that a visitor without a session is sent to the login page with a
// way back (app/_server/return-path.ts). It decides nothing: every page still checks the session.
import { NextResponse, type NextRequest } from "next/server";
import { RETURN_PATH_HEADER } from "./app/_server/return-path.ts";

export function proxy(request: NextRequest) {
  const headers = new Headers(request.headers);
  // set here whatever the client sent, so a client cannot choose it
  headers.set(RETURN_PATH_HEADER, request.nextUrl.pathname + request.nextUrl.search);
  return NextResponse.next({ request: { headers } });
}

export const config = { matcher: ["/", "/staff/:path*", "/my/:path*", "/account/:path*"] };
