// A notice for the page a server action redirects to ("Customer Acme created."): the action's own
// message would go with the form it leaves. It travels in a short-lived cookie that the notice
// (app/_ui/flash-notice.tsx) reads and deletes, so it shows once, and a link cannot fake one.
import { cookies } from "next/headers";

export const FLASH_COOKIE = "mailharbor-notice";

export async function flash(message: string): Promise<void> {
  // the cookie store percent-encodes the value; the notice decodes it
  (await cookies()).set(FLASH_COOKIE, message, { path: "/", maxAge: 60, sameSite: "strict" });
}
