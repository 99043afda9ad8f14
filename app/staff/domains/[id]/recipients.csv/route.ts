// The recipient list of a domain as CSV (lib/recipients/recipients-csv.ts: one address per line under
// an "address" header, cells a spreadsheet would run as a formula neutralised).
import { withRoute } from "@/app/_server/auth.ts";
import { getDomain } from "@/lib/domains/domains.ts";
import { recipientsCsv } from "@/lib/recipients/recipients-csv.ts";
import { listRecipients } from "@/lib/recipients/recipients.ts";

export const GET = withRoute("staff", async (actor, _request, { params }: { params: Promise<{ id: string }> }) => {
  const domain = await getDomain(actor, (await params).id);
  const recipients = await listRecipients(actor, domain.id);
  return new Response(recipientsCsv(recipients.map((r) => r.address)), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${domain.name}-recipients.csv"`,
      "cache-control": "private, no-store",
    },
  });
});
