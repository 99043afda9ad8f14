// The Prometheus endpoint (METRICS_PORT, off when unset): GET /metrics answers the registry of
// lib/metrics in the text exposition format; every other path or method is 404. It binds to
// METRICS_BIND_ADDRESS (127.0.0.1 unless set), since the figures are for the operator only.
import http from "node:http";
import client from "prom-client";
import "../../lib/metrics/held-mail.ts";
import { registry } from "../../lib/metrics/metrics.ts";
import { listenOn, type MailerContext, type Service } from "../service.ts";

let defaultsCollected = false;

export async function startMetrics(ctx: MailerContext): Promise<Service | null> {
  const { config } = ctx;
  if (!config.METRICS_PORT) return null;
  if (!defaultsCollected) {
    // process_resident_memory_bytes, heap, event loop lag, open file descriptors …
    client.collectDefaultMetrics({ register: registry });
    defaultsCollected = true;
  }
  const log = ctx.log.child({ component: "metrics" });
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { "content-type": registry.contentType }).end(text);
      },
      (error: unknown) => {
        log.warn({ code: "METRICS_COLLECT_FAILED", err: error }, "metrics could not be collected");
        response.writeHead(503, { "content-type": "text/plain; charset=utf-8" }).end("metrics unavailable\n");
      },
    );
  });
  await listenOn(server, config.METRICS_PORT, config.METRICS_BIND_ADDRESS, "METRICS_PORT");
  log.info({ port: config.METRICS_PORT, address: config.METRICS_BIND_ADDRESS }, "metrics listening");
  return {
    name: "metrics",
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
