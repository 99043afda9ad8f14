// The AUTH throttle shared by ODMR AUTH, MX AUTH (for ETRN) and, in its own process, the portal.
import { describe, expect, it } from "vitest";
import { AuthThrottle, clientKey } from "../../lib/auth/attempt-throttle.ts";

const settings = { AUTH_DELAY_STEP_MS: 0, AUTH_LOCK_AFTER: 10, AUTH_LOCK_MINUTES: 15 };

describe("client address keys", () => {
  it("counts IPv6 clients per /64, whatever the spelling, and IPv4 (also IPv4-mapped) per address", () => {
    expect(clientKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:0db8:0001:0002:ffff:eeee:dddd:cccc")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:DB8:1:2:0:0:0:9")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientKey("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64");
    expect(clientKey("192.0.2.7")).toBe("192.0.2.7");
    expect(clientKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
  });

  it("locks a whole /64 once its addresses together reach the limit", () => {
    const throttle = new AuthThrottle(settings);
    for (let i = 1; i <= 10; i++) throttle.begin(`2001:db8:1:2::${i.toString(16)}`, `login${i}`)!.settle("failure");
    expect(throttle.begin("2001:db8:1:2:abcd::1", "someone")).toBeNull();
    expect(throttle.begin("2001:db8:1:3::1", "someone")).not.toBeNull();
  });
});

describe("AUTH throttle", () => {
  it("does not let a success with another login clear the address's failures", () => {
    const throttle = new AuthThrottle(settings);
    for (let i = 0; i < 9; i++) throttle.begin("192.0.2.1", "victim")!.settle("failure");
    throttle.begin("192.0.2.1", "own")!.settle("success");
    throttle.begin("192.0.2.1", "victim")!.settle("failure");
    expect(throttle.begin("192.0.2.1", "own")).toBeNull();
    expect(throttle.begin("192.0.2.2", "victim")).not.toBeNull();
  });

  it("counts an attempt before it is checked: no more than the limit run at once", () => {
    const throttle = new AuthThrottle(settings);
    const attempts = Array.from({ length: 20 }, () => throttle.begin("192.0.2.3", "victim"));
    expect(attempts.filter(Boolean)).toHaveLength(10);
    // attempts that were not checked (a database failure) give their place back
    attempts[0]!.settle("unchecked");
    expect(throttle.begin("192.0.2.3", "victim")).not.toBeNull();
  });

  it("does not slow down attempts made together: four sessions of one customer from one address start at once", () => {
    const throttle = new AuthThrottle({ ...settings, AUTH_DELAY_STEP_MS: 1000 });
    const together = Array.from({ length: 4 }, () => throttle.begin("192.0.2.4", "customer")!);
    expect(together.map((a) => a.delayMs)).toEqual([0, 0, 0, 0]);
    for (const attempt of together) attempt.settle("success");
    // failures on record still slow the next attempt down
    for (let i = 0; i < 4; i++) throttle.begin("192.0.2.5", "guessed")!.settle("failure");
    expect(throttle.begin("192.0.2.5", "guessed")!.delayMs).toBe(2000);
  });

  it("slows a login down but never locks it, and its own success clears it", () => {
    let now = 0;
    const throttle = new AuthThrottle({ ...settings, AUTH_DELAY_STEP_MS: 100 }, () => now);
    for (let i = 0; i < 30; i++) throttle.begin(`192.0.2.${i + 10}`, "victim")!.settle("failure");
    const next = throttle.begin("198.51.100.1", "victim")!;
    expect(next.delayMs).toBe(2800);
    next.settle("success");
    expect(throttle.begin("198.51.100.1", "victim")!.delayMs).toBe(0);
    now = 16 * 60_000;
    expect(throttle.begin("192.0.2.10", "victim")).not.toBeNull();
  });
});
