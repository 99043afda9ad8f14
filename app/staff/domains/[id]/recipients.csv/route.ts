// The recipient list of a domain as CSV (one address per line under an "address" header).
import { getPortalActor } from "@/lib/auth/portal-session.ts";
import { isMailharborError } from "@/lib/errors.ts";
import { getDomain } from "@/lib/domains/domains.ts";
import { listRecipients } from "@/lib/recipients/recipients.ts";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const actor = await getPortalActor();
  if (!actor || actor.type !== "staff") return new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain" } });
  const { id } = await params;
  try {
    const domain = await getDomain(actor, id);
    const recipients = await listRecipients(actor, domain.id);
    // addresses may hold quotes or commas in quoted local parts: CSV-quote when needed (RFC 4180)
    const cell = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
    const body = ["address", ...recipients.map((r) => cell(r.address))].join("\r\n") + "\r\n";
    return new Response(body, {
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
