import type { ReactNode } from "react";
import { PortalLayout } from "@/app/_ui/portal-layout.tsx";

export default function Layout({ children }: { children: ReactNode }) {
  return <PortalLayout>{children}</PortalLayout>;
}
