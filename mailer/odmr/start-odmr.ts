// The ODMR service (RFC 2645): ODMR_PORT in plain text with STARTTLS offered, and ODMRS_PORT
// with TLS from the first byte (fetchmail's --ssl speaks only that). Both share one listener
// state and one shutdown.
import { trackConnections } from "../../lib/metrics/metrics.ts";
import { listenOn, type MailerContext, type Service } from "../service.ts";
import { OdmrListener } from "./odmr-listener.ts";

export async function startOdmr(ctx: MailerContext): Promise<Service[]> {
  const listener = new OdmrListener(ctx);
  const { config } = ctx;
  const plain = listener.createServer("odmr", false);
  const implicit = listener.createServer("odmrs", true);
  try {
    await listenOn(plain.server, config.ODMR_PORT, config.BIND_ADDRESS, "ODMR_PORT");
    await listenOn(implicit.server, config.ODMRS_PORT, config.BIND_ADDRESS, "ODMRS_PORT");
  } catch (error) {
    await listener.shutdown(0);
    throw error;
  }
  trackConnections("odmr", () => listener.slots.inUse);
  return [
    { name: "odmr", close: (graceMs) => listener.shutdown(graceMs) },
    { name: "odmrs", close: (graceMs) => listener.shutdown(graceMs) },
  ];
}
