import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { LoginForm } from "./login-form.tsx";
import { getPortalActor } from "@/app/_server/portal-session.ts";
import { safeReturnPath } from "@/app/_server/return-path.ts";

export const metadata: Metadata = { title: "Log in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ error?: string; next?: string }> }) {
  const { error, next: asked } = await searchParams;
  const next = safeReturnPath(typeof asked === "string" ? asked : null) ?? "/";
  if (await getPortalActor()) redirect(next);
  return (
    <main id="main" className="flex min-h-screen items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <h1 className="text-center text-2xl font-semibold">Mailharbor</h1>
        <p className="mt-1 text-center text-sm text-slate-600">Log in to manage your held mail</p>
        <div className="mt-8 rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
          <LoginForm initialError={typeof error === "string" ? error : undefined} next={next} />
        </div>
      </div>
    </main>
  );
}
