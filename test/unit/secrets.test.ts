import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AttemptThrottle } from "../../lib/auth/attempt-throttle.ts";
import { cramMd5Digest, cramMd5Matches } from "../../lib/auth/cram-md5.ts";
import { generateSecret } from "../../lib/auth/generate-secret.ts";
import { hashPassword, verifyPassword } from "../../lib/auth/password.ts";
import { decryptSecret, encryptSecret, loadOrCreateKeyFile } from "../../lib/auth/secret-box.ts";

describe("argon2id password hashing", () => {
  it("round-trips and rejects a wrong password", async () => {
    const hashed = await hashPassword("correct horse battery");
    expect(hashed).toMatch(/^\$argon2id\$v=19\$/);
    expect(await verifyPassword(hashed, "correct horse battery")).toBe(true);
    expect(await verifyPassword(hashed, "correct horse batterY")).toBe(false);
    expect(await verifyPassword("not a hash", "x")).toBe(false);
  });
});

describe("AES-256-GCM secret box", () => {
  const key = crypto.randomBytes(32);

  it("round-trips, with a fresh nonce each time", () => {
    const a = encryptSecret("tanstaaftanstaaf", key);
    const b = encryptSecret("tanstaaftanstaaf", key);
    expect(a).not.toBe(b);
    expect(a).not.toContain("tanstaaf");
    expect(decryptSecret(a, key)).toBe("tanstaaftanstaaf");
  });

  it("detects tampering and a wrong key", () => {
    const sealed = encryptSecret("secret", key);
    const [v, iv, tag, body] = sealed.split(":");
    const flipped = Buffer.from(body, "base64");
    flipped[0] ^= 1;
    expect(() => decryptSecret([v, iv, tag, flipped.toString("base64")].join(":"), key)).toThrow(/integrity/);
    expect(() => decryptSecret(sealed, crypto.randomBytes(32))).toThrow(/integrity/);
    // a wrong MAILHARBOR_SECRET_KEY has its own code, so an operator sees it is the key, not a fault
    expect(() => decryptSecret(sealed, crypto.randomBytes(32))).toThrow(expect.objectContaining({ code: "SECRET_KEY_MISMATCH" }));
    expect(() => decryptSecret("garbage", key)).toThrow(/format/);
  });

  it("creates the key file once, mode 0600, and reuses it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mh-key-"));
    const file = path.join(dir, "secret.key");
    const first = loadOrCreateKeyFile(file);
    expect(first.length).toBe(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKeyFile(file).equals(first)).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("CRAM-MD5 (RFC 2195)", () => {
  it("matches the RFC test vector", () => {
    const challenge = "<1896.697170952@postoffice.reston.mci.net>";
    expect(cramMd5Digest("tanstaaftanstaaf", challenge)).toBe("b913a602c7eda7a495b4e6e7334d3890");
    expect(Buffer.from("tim b913a602c7eda7a495b4e6e7334d3890").toString("base64")).toBe("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    expect(cramMd5Matches("tanstaaftanstaaf", challenge, "B913A602C7EDA7A495B4E6E7334D3890")).toBe(true);
    expect(cramMd5Matches("tanstaaftanstaafX", challenge, "b913a602c7eda7a495b4e6e7334d3890")).toBe(false);
    expect(cramMd5Matches("tanstaaftanstaaf", challenge, "short")).toBe(false);
  });
});

describe("generated secrets", () => {
  it("have the asked length and no ambiguous characters", () => {
    const s = generateSecret(24);
    expect(s).toHaveLength(24);
    expect(s).not.toMatch(/[0O1lI]/);
    expect(new Set(Array.from({ length: 50 }, () => generateSecret())).size).toBe(50);
  });
});

describe("attempt throttle", () => {
  it("slows down, locks, forgets on success", () => {
    let now = 0;
    const t = new AttemptThrottle({ freeFailures: 2, lockAfter: 4, lockMs: 1000, windowMs: 10_000, stepDelayMs: 100, maxDelayMs: 250 }, () => now);
    t.fail("k");
    t.fail("k");
    expect(t.delayFor("k")).toBe(100);
    t.fail("k");
    expect(t.delayFor("k")).toBe(200);
    expect(t.lockedFor("k")).toBe(0);
    t.fail("k");
    expect(t.lockedFor("k")).toBe(1000);
    expect(t.lockedFor("other")).toBe(0);
    now = 1001;
    expect(t.lockedFor("k")).toBe(0);
    t.succeed("k");
    expect(t.delayFor("k")).toBe(0);
  });
});
