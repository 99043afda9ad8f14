"use client";
// Shows the notice a server action left before redirecting here (app/_server/flash.ts), once.
import { usePathname } from "next/navigation";
import { useEffect, useState } from "react";

const COOKIE = "mailharbor-notice";

function takeNotice(): string | null {
  const entry = document.cookie.split("; ").find((c) => c.startsWith(`${COOKIE}=`));
  if (!entry) return null;
  document.cookie = `${COOKIE}=; path=/; max-age=0; samesite=strict`;
  try {
    return decodeURIComponent(entry.slice(COOKIE.length + 1)) || null;
  } catch {
    return null;
  }
}

export function FlashNotice() {
  const pathname = usePathname();
  const [notice, setNotice] = useState<{ text: string; path: string } | null>(null);
  useEffect(() => {
    const text = takeNotice();
    // the cookie can only be read here, after the page has rendered
    // eslint-disable-next-line react-hooks/set-state-in-effect -- the notice is in a cookie the server already cleared: it exists only after mount
    if (text) setNotice({ text, path: pathname });
  }, [pathname]);
  if (!notice || notice.path !== pathname) return null;
  return (
    <div
      role="status"
      className="mb-6 flex items-start justify-between gap-3 rounded-md bg-emerald-50 px-4 py-3 text-sm text-emerald-900"
      data-testid="flash-notice"
    >
      <span>{notice.text}</span>
      <button type="button" className="text-emerald-900 hover:underline" onClick={() => setNotice(null)}>
        Dismiss
      </button>
    </div>
  );
}
