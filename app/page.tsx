import { redirect } from "next/navigation";
import { withPage } from "./_server/auth.ts";

export default withPage("any", async function Home(actor) {
  redirect(actor.type === "staff" ? "/staff" : "/my");
});
