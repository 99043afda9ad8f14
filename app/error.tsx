"use client";
// Anything a page could not render ends here, never as a blank page.
import Link from "next/link";

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main id="main" className="mx-auto flex min-h-[60vh] max-w-lg flex-col items-center justify-center px-4 text-center">
      <h1 className="text-2xl font-semibold">Something went wrong</h1>
      <p className="mt-2 text-slate-600">The page could not be shown. This is usually brief (the database may be restarting); try again in a moment.</p>
      {error.digest ? <p className="mt-2 text-xs text-slate-500">Reference for the operators: {error.digest}</p> : null}
      <div className="mt-6 flex gap-3">
        <button type="button" onClick={reset} className="rounded-md bg-sky-700 px-4 py-2 text-sm font-medium text-white hover:bg-sky-800">
          Try again
        </button>
        <Link href="/" className="rounded-md border border-slate-300 px-4 py-2 text-sm font-medium no-underline">
          Start page
        </Link>
      </div>
    </main>
  );
}
