// The bounce-protection rule and the webhook signature as functions: the threshold's edges and
// the minimum, and a signature that fails on any change of body, secret or age.
import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhook } from "../../lib/notifications/webhook-signature.ts";
import { MIN_OFFERED, protectionTrips } from "../../lib/protection/bounce-protection.ts";

describe("bounce protection rule", () => {
  it("trips only above the share, once the minimum was offered, and never when off", () => {
    expect(MIN_OFFERED).toBe(5);
    expect(protectionTrips(10, 5, 50)).toBe(false); // exactly half
    expect(protectionTrips(10, 6, 50)).toBe(true);
    expect(protectionTrips(11, 6, 50)).toBe(true);
    expect(protectionTrips(4, 4, 50)).toBe(false); // below the minimum
    expect(protectionTrips(5, 5, 50)).toBe(true);
    expect(protectionTrips(5, 4, 80)).toBe(false); // 80 % is not more than 80 %
    expect(protectionTrips(100, 100, null)).toBe(false);
  });
});

describe("webhook signature", () => {
  it("verifies its own signature and nothing else", () => {
    const now = 1_800_000_000;
    const header = signWebhook("whsec_a", '{"a":1}', now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook("whsec_a", '{"a":1}', header, 300, now + 10)).toBe(true);
    expect(verifyWebhook("whsec_a", '{"a":2}', header, 300, now)).toBe(false);
    expect(verifyWebhook("whsec_b", '{"a":1}', header, 300, now)).toBe(false);
    expect(verifyWebhook("whsec_a", '{"a":1}', header, 300, now + 301)).toBe(false);
    expect(verifyWebhook("whsec_a", '{"a":1}', "t=x,v1=zz", 300, now)).toBe(false);
  });
});
