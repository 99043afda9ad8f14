import { redirect } from "next/navigation";
import { requireUser } from "./_server/auth.ts";

export default async function Home() {
  const actor = await requireUser();
  redirect(actor.type === "staff" ? "/staff" : "/my");
}
