import { Badge } from "@/app/_ui/page-header.tsx";
import type { DsnStatus } from "@/lib/dsn/dsn-status.ts";

const TONE = { held: "amber", failed: "red", pending: "sky", sent: "green" } as const;

export function DsnStatusBadge({ status }: { status: DsnStatus }) {
  return <Badge tone={TONE[status]}>{status}</Badge>;
}
