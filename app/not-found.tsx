import Link from "next/link";

export default function NotFound() {
  return (
    <main id="main" className="mx-auto flex min-h-[60vh] max-w-lg flex-col items-center justify-center px-4 text-center">
      <p className="text-sm font-semibold text-sky-700">404</p>
      <h1 className="mt-2 text-2xl font-semibold">Not found</h1>
      <p className="mt-2 text-slate-600">This page does not exist, or it is not yours to see. Check the link, or go back to your start page.</p>
      <Link href="/" className="mt-6">
        Go to the start page
      </Link>
    </main>
  );
}
