// Free ports for child processes come from below the kernel's ephemeral range, so that no
// outgoing connection's source port (nor anyone's listen(0)) can take one before it is bound.
import { readFileSync } from "node:fs";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "../../lib/system/free-port.ts";

const ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);

describe("freePort", () => {
  it("hands out distinct ports below the ephemeral range", async () => {
    const ports: number[] = [];
    for (let i = 0; i < 50; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(50);
    for (const port of ports) expect(port).toBeLessThan(ephemeralLow);
  });

  it("skips a port something listens on", async () => {
    const first = await freePort();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(first + 1, "127.0.0.1", resolve));
    try {
      const second = await freePort();
      expect(second).not.toBe(first + 1);
      const bound = net.createServer();
      await new Promise<void>((resolve, reject) => bound.once("error", reject).listen(second, "127.0.0.1", resolve));
      bound.close();
    } finally {
      taken.close();
    }
  });
});
