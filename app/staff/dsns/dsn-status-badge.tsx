import type { DsnStatus } from "@/lib/dsn/dsn-status.ts";
import { Badge } from "@/app/_ui/page-header.tsx";

const TONE = { held: "amber", failed: "red", pending: "sky", sent: "green" } as const;

export function DsnStatusBadge({ status }: { status: DsnStatus }) {
  return <Badge tone={TONE[status]}>{status}</Badge>;
}
