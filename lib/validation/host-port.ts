// HOST:PORT, as SMARTHOST and a domain's ETRN target are written: a host name or IPv4 address,
// a colon and a port 1-65535. One schema for every place that accepts one, one parser for every
// place that uses one.
import { z } from "zod";

export interface HostPort {
  host: string;
  port: number;
}

export const hostPortSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "must be HOST:PORT")
  .refine((v) => {
    const port = Number(v.slice(v.lastIndexOf(":") + 1));
    return port >= 1 && port <= 65535;
  }, "port must be 1-65535");

/** Splits a value hostPortSchema accepted (the port is after the last colon). */
export function parseHostPort(value: string): HostPort {
  const colon = value.lastIndexOf(":");
  return { host: value.slice(0, colon), port: Number(value.slice(colon + 1)) };
}
