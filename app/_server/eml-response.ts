// A held message as a download (.eml, RFC 5322 bytes as received), for staff or its own customer.
// Called inside withRoute (auth.ts): another customer's id or a malformed one answers 404 there.
import type { Actor } from "@/lib/actor.ts";
import { MailharborError } from "@/lib/errors.ts";
import { getMessageRaw } from "@/lib/queue/queue-actions.ts";
import { isQueueId } from "@/lib/queue/queue-id.ts";

export async function emlResponse(actor: Actor, id: string): Promise<Response> {
  if (!isQueueId(id)) throw new MailharborError("NOT_FOUND", `no message ${id}`);
  const raw = await getMessageRaw(actor, id);
  return new Response(new Uint8Array(raw), {
    headers: {
      "content-type": "message/rfc822",
      "content-disposition": `attachment; filename="${id}.eml"`,
      "cache-control": "private, no-store",
    },
  });
}
