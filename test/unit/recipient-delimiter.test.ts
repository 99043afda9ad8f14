// The recipient-delimiter rule on its own: where the extension starts, which list entry an address
// matches, the candidates one RCPT lookup asks for, and which settings are valid.
import { describe, expect, it } from "vitest";
import { lookupCandidates, matchListEntry, recipientBase } from "../../lib/domains/recipient-delimiter.ts";
import { recipientDelimiterSchema } from "../../lib/validation/schemas.ts";

describe("recipientBase", () => {
  it("cuts at the first delimiter character of the local part", () => {
    expect(recipientBase("joe+news@d.example", "+")).toBe("joe@d.example");
    expect(recipientBase("joe-news@d.example", "-")).toBe("joe@d.example");
    expect(recipientBase("joe+a+b@d.example", "+")).toBe("joe@d.example");
    // with "+-" either starts the extension, whichever comes first
    expect(recipientBase("joe-a+b@d.example", "+-")).toBe("joe@d.example");
    expect(recipientBase("joe+a-b@d.example", "+-")).toBe("joe@d.example");
  });

  it("leaves an address without the domain's delimiter alone", () => {
    expect(recipientBase("joe-news@d.example", "+")).toBeNull();
    expect(recipientBase("joe+news@d.example", "")).toBeNull();
    expect(recipientBase("joe@d.example", "+-")).toBeNull();
    // a delimiter in the domain part is no extension
    expect(recipientBase("joe@my-domain.example", "-")).toBeNull();
  });

  it("takes an empty extension, but never leaves an empty local part or splits a quoted one", () => {
    expect(recipientBase("joe+@d.example", "+")).toBe("joe@d.example");
    expect(recipientBase("+news@d.example", "+")).toBeNull();
    expect(recipientBase('"joe+news"@d.example', "+")).toBeNull();
  });

  it("works on UTF-8 local parts (RFC 6531) and keeps their case", () => {
    expect(recipientBase("jörg+post@d.example", "+")).toBe("jörg@d.example");
    expect(recipientBase("Jörg+Post@d.example", "+")).toBe("Jörg@d.example");
    expect(recipientBase("用户+x@d.example", "+")).toBe("用户@d.example");
  });
});

describe("matchListEntry", () => {
  const listed = new Set(["joe@d.example", "a+b@d.example"]);

  it("matches a listed address as itself, an extended one by its base", () => {
    expect(matchListEntry("joe@d.example", "+", listed)).toBe("joe@d.example");
    expect(matchListEntry("joe+news@d.example", "+", listed)).toBe("joe@d.example");
    expect(matchListEntry("joe+news@d.example", "", listed)).toBeNull();
    expect(matchListEntry("joe-news@d.example", "+", listed)).toBeNull();
  });

  it("matches a listed address that contains the delimiter as listed", () => {
    expect(matchListEntry("a+b@d.example", "+", listed)).toBe("a+b@d.example");
    // its base (a@) is not listed, and a+b+c is not cut at the second "+"
    expect(matchListEntry("a+c@d.example", "+", listed)).toBeNull();
    expect(matchListEntry("a+b+c@d.example", "+", listed)).toBeNull();
  });
});

describe("lookupCandidates", () => {
  it("holds the key and its base under every possible delimiter, once each", () => {
    expect(lookupCandidates("joe@d.example")).toEqual(["joe@d.example"]);
    expect(lookupCandidates("joe.x+y-z@d.example")).toEqual(["joe.x+y-z@d.example", "joe.x@d.example", "joe.x+y@d.example", "joe@d.example"]);
  });

  it("always contains the base the domain's own delimiter gives", () => {
    for (const delimiter of ["+", "-", "+-", "._", "=+-_."]) {
      const key = "a_b=c.d+e-f@d.example";
      expect(lookupCandidates(key)).toContain(recipientBase(key, delimiter));
    }
  });
});

describe("recipientDelimiterSchema", () => {
  it("takes empty or characters from +-_=., once each", () => {
    expect(recipientDelimiterSchema.parse("")).toBe("");
    expect(recipientDelimiterSchema.parse("+")).toBe("+");
    expect(recipientDelimiterSchema.parse("+-")).toBe("+-");
    expect(recipientDelimiterSchema.parse("++-")).toBe("+-");
    expect(recipientDelimiterSchema.parse("+-_=.")).toBe("+-_=.");
  });

  it("refuses other characters", () => {
    for (const bad of ["x", "+x", "@", "/", "+ -", "#"]) expect(recipientDelimiterSchema.safeParse(bad).success).toBe(false);
  });
});
