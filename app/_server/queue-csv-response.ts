// The filtered queue as a CSV download (lib/queue/export-queue.ts), streamed as it is read. The
// filter is tried once before the first byte, so a wrong one answers as the role's list page does
// (withRoute's 404 for what /my/mail shows as not found; 400 for what /staff/queue shows as a problem),
// not a broken file.
import { orProblem, queryParams } from "./load.ts";
import { queueFilterFromParams, type QueueRole } from "./queue-filter.ts";
import type { Actor } from "@/lib/actor.ts";
import { queueCsvLines } from "@/lib/queue/export-queue.ts";
import { searchQueue } from "@/lib/queue/search-queue.ts";

const CHUNK = 64 * 1024;

function text(status: number, body: string): Response {
  return new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

export async function queueCsvResponse(actor: Actor, role: QueueRole, request: Request): Promise<Response> {
  const filter = queueFilterFromParams(queryParams(Object.fromEntries(new URL(request.url).searchParams)), role);
  const probe = searchQueue(actor, { ...filter, limit: 1, skipCount: true });
  if (role === "customer") await probe;
  else {
    const { problem } = await orProblem(probe);
    if (problem !== null) return text(400, problem);
  }
  const lines = queueCsvLines(actor, filter);
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk = "";
      while (chunk.length < CHUNK) {
        const next = await lines.next();
        if (next.done) {
          if (chunk) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += next.value;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
  const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
  return new Response(body, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${role === "staff" ? "queue" : "held-mail"}-${stamp}.csv"`,
      "cache-control": "private, no-store",
    },
  });
}
