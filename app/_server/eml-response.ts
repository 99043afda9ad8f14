// A held message as a download (.eml, RFC 5322 bytes as received), for staff or its own customer.
import type { Actor } from "@/lib/actor.ts";
import { isMailharborError } from "@/lib/errors.ts";
import { getMessageRaw } from "@/lib/queue/queue-actions.ts";
import { isQueueId } from "@/lib/queue/queue-id.ts";

const NOT_FOUND = () => new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });

export async function emlResponse(actor: Actor | null, role: "staff" | "customer", id: string): Promise<Response> {
  if (!actor || actor.type !== role || !isQueueId(id)) return NOT_FOUND();
  try {
    const raw = await getMessageRaw(actor, id);
    return new Response(new Uint8Array(raw), {
      headers: {
        "content-type": "message/rfc822",
        "content-disposition": `attachment; filename="${id}.eml"`,
        "cache-control": "private, no-store",
      },
    });
  } catch (error) {
    if (isMailharborError(error, "NOT_FOUND")) return NOT_FOUND();
    throw error;
  }
}
