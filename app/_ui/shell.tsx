// The frame around every signed-in page: skip link, product name, navigation for the user's role,
// who is signed in, log out. It only displays; each page checks the session and role itself.
import Link from "next/link";
import type { ReactNode } from "react";
import { FlashNotice } from "./flash-notice.tsx";
import { NavLink } from "./nav-link.tsx";
import { SignOutButton } from "./sign-out-button.tsx";
import type { Actor } from "@/lib/actor.ts";

const STAFF_NAV = [
  { href: "/staff", label: "Dashboard", exact: true },
  { href: "/staff/queue", label: "Queue" },
  { href: "/staff/dsns", label: "DSNs" },
  { href: "/staff/customers", label: "Customers" },
  { href: "/staff/logins", label: "Logins" },
  { href: "/staff/domains", label: "Domains" },
  { href: "/staff/sessions", label: "Sessions" },
  { href: "/staff/audit", label: "Audit log" },
  { href: "/staff/users", label: "Users" },
  { href: "/staff/api-tokens", label: "API tokens" },
];

const CUSTOMER_NAV = [
  { href: "/my", label: "Overview", exact: true },
  { href: "/my/mail", label: "Held mail" },
  { href: "/my/sessions", label: "Sessions" },
  { href: "/my/notifications", label: "Notifications" },
];

export function Shell({ actor, children }: { actor: Actor | null; children: ReactNode }) {
  const nav = actor?.type === "staff" ? STAFF_NAV : actor?.type === "customer" ? CUSTOMER_NAV : [];
  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      <header className="bg-slate-900 text-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
          <Link href="/" className="text-lg font-semibold text-white no-underline hover:no-underline">
            Mailharbor
            {actor?.type === "staff" ? <span className="ml-2 rounded bg-sky-700 px-1.5 py-0.5 text-xs font-medium">staff</span> : null}
          </Link>
          {/* on a phone the items wrap onto more lines rather than scroll out of sight */}
          <nav aria-label="Main" className="order-3 -mx-1 flex w-full flex-wrap gap-1 pb-1 md:order-none md:w-auto md:pb-0">
            {nav.map((item) => (
              <NavLink key={item.href} href={item.href} exact={item.exact}>
                {item.label}
              </NavLink>
            ))}
          </nav>
          {actor && "id" in actor ? (
            <div className="ml-auto flex items-center gap-2">
              <Link href="/account" className="max-w-48 truncate text-sm text-slate-300 hover:text-white" title="Your account">
                {actor.label}
              </Link>
              <SignOutButton />
            </div>
          ) : null}
        </div>
      </header>
      <main id="main" className="mx-auto max-w-7xl px-4 py-6 sm:py-8">
        <FlashNotice />
        {children}
      </main>
    </div>
  );
}
