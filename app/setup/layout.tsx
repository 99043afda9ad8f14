// The frame of the steps a user must finish before the rest of the portal (a one-time password to
// replace, a required two-factor set-up): no navigation, since nothing else opens yet; log out works.
import type { ReactNode } from "react";
import { SignOutButton } from "@/app/_ui/sign-out-button.tsx";

export default function Layout({ children }: { children: ReactNode }) {
  return (
    <div className="min-h-screen">
      <header className="bg-slate-900 text-white">
        <div className="mx-auto flex max-w-2xl items-center justify-between gap-4 px-4 py-3">
          <span className="text-lg font-semibold">Mailharbor</span>
          <SignOutButton />
        </div>
      </header>
      <main id="main" className="mx-auto max-w-2xl px-4 py-8">
        {children}
      </main>
    </div>
  );
}
