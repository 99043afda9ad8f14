// "← Previous" and "Next →" under a numbered list page (staff customers, ODMR logins).
import Link from "next/link";

export function PageLinks({ page, pageSize, total, href }: { page: number; pageSize: number; total: number; href: (page: number) => string }) {
  return (
    <nav aria-label="Pages" className="mt-4 flex justify-between text-sm">
      {page > 1 ? <Link href={href(page - 1)}>← Previous</Link> : <span />}
      {page * pageSize < total ? <Link href={href(page + 1)}>Next →</Link> : <span />}
    </nav>
  );
}
