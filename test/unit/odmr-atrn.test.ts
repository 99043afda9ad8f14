// The ATRN argument (RFC 2645 §4.2.2) and the per-login ATRN rate limit.
import { describe, expect, it } from "vitest";
import { parseAtrnArgument } from "../../mailer/odmr/atrn-argument.ts";
import { AtrnRateLimiter } from "../../mailer/odmr/atrn-rate-limiter.ts";

describe("ATRN argument", () => {
  it("means every domain when empty", () => {
    expect(parseAtrnArgument("")).toEqual({ ok: true, domains: null });
    expect(parseAtrnArgument("   ")).toEqual({ ok: true, domains: null });
  });

  it("takes a comma-separated list, normalised and without repeats", () => {
    expect(parseAtrnArgument(" Acme.Example")).toEqual({ ok: true, domains: ["acme.example"] });
    expect(parseAtrnArgument(" a.example,b.example,A.example.")).toEqual({ ok: true, domains: ["a.example", "b.example"] });
  });

  it("refuses spaces, empty items, single labels and non-names", () => {
    for (const bad of [" a.example, b.example", " a.example,,b.example", " vm", " a.example,", " -bad.example", " a_b.example"]) {
      expect(parseAtrnArgument(bad), bad).toEqual({ ok: false });
    }
  });
});

describe("ATRN rate limit", () => {
  it("allows the configured number per sliding minute and refuses the next", () => {
    let now = 0;
    const limiter = new AtrnRateLimiter(10, () => now);
    const results = Array.from({ length: 11 }, () => limiter.allow("login"));
    expect(results.slice(0, 10).every(Boolean)).toBe(true);
    expect(results[10]).toBe(false);
    expect(limiter.allow("other-login")).toBe(true);
    now += 60_000;
    expect(limiter.allow("login")).toBe(true);
  });

  it("never refuses a customer polling every minute (or every ten seconds)", () => {
    let now = 0;
    const limiter = new AtrnRateLimiter(10, () => now);
    for (let i = 0; i < 24 * 60; i++, now += 60_000) expect(limiter.allow("poller")).toBe(true);
    for (let i = 0; i < 600; i++, now += 10_000) expect(limiter.allow("fast-poller")).toBe(true);
  });
});
