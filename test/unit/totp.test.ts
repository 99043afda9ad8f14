// TOTP (RFC 6238) against the SHA-1 test vectors of its Appendix B, HOTP against RFC 4226
// Appendix D, and base32 (RFC 4648 §10); the ±1 step window and the shape of the otpauth URI.
import { describe, expect, it } from "vitest";
import { base32Decode, base32Encode, hotp, matchTotpStep, totpCode, totpStep, totpUri } from "../../lib/auth/totp.ts";

// RFC 6238 Appendix B: the SHA-1 key is the ASCII string "12345678901234567890", 8 digits
const KEY = Buffer.from("12345678901234567890", "ascii");
const VECTORS: [number, string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP (RFC 6238)", () => {
  it("matches the SHA-1 test vectors of Appendix B", () => {
    for (const [seconds, code] of VECTORS) expect(hotp(KEY, totpStep(seconds * 1000), 8), String(seconds)).toBe(code);
  });

  it("gives the 6-digit code (the last six digits of the vector) from the base32 form of the key", () => {
    const secret = base32Encode(KEY);
    expect(secret).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    for (const [seconds, code] of VECTORS) expect(totpCode(secret, seconds * 1000)).toBe(code.slice(-6));
  });

  it("HOTP matches RFC 4226 Appendix D", () => {
    const expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    expect(expected.map((_, counter) => hotp(KEY, counter))).toEqual(expected);
  });

  it("accepts the step before and after the current one, not two away, and says which step matched", () => {
    const secret = base32Encode(KEY);
    const now = 1111111111_000;
    const step = totpStep(now);
    expect(matchTotpStep(secret, totpCode(secret, now), now)).toBe(step);
    expect(matchTotpStep(secret, totpCode(secret, now - 30_000), now)).toBe(step - 1);
    expect(matchTotpStep(secret, totpCode(secret, now + 30_000), now)).toBe(step + 1);
    expect(matchTotpStep(secret, totpCode(secret, now - 60_000), now)).toBeNull();
    expect(matchTotpStep(secret, totpCode(secret, now + 60_000), now)).toBeNull();
    expect(matchTotpStep(secret, "12345", now)).toBeNull();
    expect(matchTotpStep(secret, "abcdef", now)).toBeNull();
    // spaces, as apps show "050 471", are ignored
    expect(matchTotpStep(secret, "050 471", now)).toBe(step);
  });
});

describe("base32 (RFC 4648)", () => {
  it("encodes and decodes the test vectors of §10 (without padding)", () => {
    const vectors: [string, string][] = [
      ["", ""],
      ["f", "MY"],
      ["fo", "MZXQ"],
      ["foo", "MZXW6"],
      ["foob", "MZXW6YQ"],
      ["fooba", "MZXW6YTB"],
      ["foobar", "MZXW6YTBOI"],
    ];
    for (const [plain, encoded] of vectors) {
      expect(base32Encode(Buffer.from(plain))).toBe(encoded);
      expect(base32Decode(encoded).toString()).toBe(plain);
    }
    expect(base32Decode("mzxw 6ytb oi======").toString()).toBe("foobar");
    expect(() => base32Decode("MZ1")).toThrow();
  });
});

describe("otpauth URI", () => {
  it("names the issuer and the account and carries the secret and parameters", () => {
    const uri = new URL(totpUri("GEZDGNBV", "ops@isp.example", "Mailharbor"));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/Mailharbor:ops@isp.example");
    expect(Object.fromEntries(uri.searchParams)).toEqual({ secret: "GEZDGNBV", issuer: "Mailharbor", algorithm: "SHA1", digits: "6", period: "30" });
  });
});
