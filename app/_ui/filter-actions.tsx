import { buttonClass } from "./page-header.tsx";

/** The buttons ending a filter form; Clear is a plain link back to the unfiltered list. */
export function FilterActions({ clearHref, className }: { clearHref: string; className?: string }) {
  return (
    <div className={className ? `flex items-end gap-2 ${className}` : "flex items-end gap-2"}>
      <button type="submit" className={buttonClass.primary}>
        Filter
      </button>
      <a href={clearHref} className={buttonClass.secondary}>
        Clear
      </a>
    </div>
  );
}
