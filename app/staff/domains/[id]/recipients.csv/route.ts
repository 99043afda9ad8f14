// The recipient list of a domain as CSV (lib/recipients/recipients-csv.ts: one address per line under
// an "address" header, cells a spreadsheet would run as a formula neutralised).
import { getPortalActor } from "@/app/_server/portal-session.ts";
import { getDomain } from "@/lib/domains/domains.ts";
import { isMailharborError } from "@/lib/errors.ts";
import { recipientsCsv } from "@/lib/recipients/recipients-csv.ts";
import { listRecipients } from "@/lib/recipients/recipients.ts";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const actor = await getPortalActor();
  if (!actor || actor.type !== "staff") return new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain" } });
  const { id } = await params;
  try {
    const domain = await getDomain(actor, id);
    const recipients = await listRecipients(actor, domain.id);
    return new Response(recipientsCsv(recipients.map((r) => r.address)), {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="${domain.name}-recipients.csv"`,
        "cache-control": "private, no-store",
      },
    });
  } catch (error) {
    if (isMailharborError(error, "NOT_FOUND")) return new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain" } });
    throw error;
  }
}
