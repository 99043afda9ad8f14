// Layout of the signed-in areas. The pages below still check the session and role themselves.
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { Shell } from "./shell.tsx";
import { getPortalActor } from "@/app/_server/portal-session.ts";
import { loginPathForThisRequest } from "@/app/_server/return-path.ts";

export async function PortalLayout({ children }: { children: ReactNode }) {
  const actor = await getPortalActor();
  if (!actor) redirect(await loginPathForThisRequest());
  return <Shell actor={actor}>{children}</Shell>;
}
