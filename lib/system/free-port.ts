import { readFileSync } from "node:fs";
import net from "node:net";

// A port from listen(0) comes from the kernel's ephemeral range, which every outgoing connection
// also draws its source port from. Between handing such a port out and a child process binding
// it, a busy machine (a test suite, a benchmark) may have given it to a connection. So ports are
// handed out from below that range, one after another from a random start in each process, and
// each is tried before it is handed out.
const LOWEST = 20_000;

function ephemeralLow(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(low)) return low;
  } catch {
    // not Linux: IANA's dynamic range
  }
  return 49_152;
}

const highest = ephemeralLow() - 1;
let next = highest - LOWEST > 1_000 ? LOWEST + Math.floor(Math.random() * (highest - LOWEST)) : 0;

function tryPort(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", (e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" || e.code === "EACCES" ? resolve(null) : reject(e)));
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (for embedded servers, tests, benchmarks). */
export async function freePort(): Promise<number> {
  if (next === 0) return (await tryPort(0))!;
  for (let tries = 0; tries < 1_000; tries++) {
    const port = next;
    next = next >= highest ? LOWEST : next + 1;
    const bound = await tryPort(port);
    if (bound !== null) return bound;
  }
  return (await tryPort(0))!;
}
