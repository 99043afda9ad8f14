// The portal password policy (lib/auth/password-policy.ts): length, and the shipped list of common
// passwords, compared without case and with digits and punctuation stripped from both ends.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { COMMON_PASSWORDS } from "../../lib/auth/common-passwords.ts";
import { passwordProblem } from "../../lib/auth/password-policy.ts";
import { passwordSchema } from "../../lib/validation/schemas.ts";

describe("password policy", () => {
  it("refuses short and overlong passwords", () => {
    expect(passwordProblem("short-pw1")).toBe("at least 10 characters");
    expect(passwordProblem("x".repeat(1025))).toBe("at most 1024 characters");
    expect(passwordProblem("a-long-password-1")).toBeNull();
  });

  it("refuses entries of the common-password list whatever their case, and with digits or symbols around them", () => {
    for (const password of ["qwertyuiop", "1q2w3e4r5t", "Password123", "PASSWORD1234", "dragon2024!!", "!!Monkey12345", "basketball", "Manchester"]) {
      expect(passwordProblem(password), password).toMatch(/most common passwords/);
    }
  });

  it("accepts passwords that only contain a common word", () => {
    for (const password of ["dragon-fruit-salad", "correct horse battery", "staff-password-1", "q7Hs9LmPz2Kd"]) {
      expect(passwordProblem(password), password).toBeNull();
    }
  });

  it("ships a list of a few thousand entries with its source and licence at the top", () => {
    const head = fs.readFileSync(new URL("../../lib/auth/common-passwords.ts", import.meta.url), "utf8").slice(0, 400);
    expect(head).toMatch(/@zxcvbn-ts\/language-common 4\.1\.3[\s\S]*MIT licence/);
    const entries = COMMON_PASSWORDS.split("\n").filter(Boolean);
    expect(entries.length).toBeGreaterThan(5000);
    expect(new Set(entries).size).toBe(entries.length);
    expect(entries.every((e) => e === e.toLowerCase())).toBe(true);
  });

  it("is the rule of the shared password schema", () => {
    expect(passwordSchema.safeParse("iloveyou12345").success).toBe(false);
    expect(passwordSchema.safeParse("a-long-password-1").success).toBe(true);
  });
});
