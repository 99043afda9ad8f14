import { describe, expect, it } from "vitest";
import { z } from "zod";
import { isQueueId, newQueueId } from "../../lib/queue/queue-id.ts";
import { parseAddress } from "../../lib/validation/address.ts";
import { normalizeDomainName, unicodeDomainName } from "../../lib/validation/domain-name.ts";
import { hostPortSchema, parseHostPort } from "../../lib/validation/host-port.ts";
import { normalizeLoginName } from "../../lib/validation/login-name.ts";
import { parseInput } from "../../lib/validation/parse-input.ts";

describe("domain names (RFC 5321 §4.1.2, RFC 1035 §2.3.1)", () => {
  it.each([
    ["Example.COM", "example.com"],
    ["mail.example.com.", "mail.example.com"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["a-b.c-d.example", "a-b.c-d.example"],
    [`${"a".repeat(63)}.example`, `${"a".repeat(63)}.example`],
  ])("accepts %s", (input, expected) => {
    expect(normalizeDomainName(input)).toBe(expected);
  });

  it.each([
    "localhost",
    "",
    "example..com",
    "-bad.example",
    "bad-.example",
    "under_score.example",
    `${"a".repeat(64)}.example`,
    "exa mple.com",
    "1.2.3.4",
    "example.123",
    `${"a.".repeat(127)}ab`,
    ".example.com",
  ])("rejects %j", (input) => {
    expect(normalizeDomainName(input)).toBeNull();
  });

  it("allows a single label only when asked (host names)", () => {
    expect(normalizeDomainName("vm", { allowSingleLabel: true })).toBe("vm");
  });
});

describe("addresses (RFC 5321 §4.1.2, §4.5.3.1)", () => {
  it("accepts dot-atoms and quoted local parts, lower-cases the domain only", () => {
    expect(parseAddress("John.Doe@Example.COM")).toEqual({ localPart: "John.Doe", domain: "example.com", address: "John.Doe@example.com" });
    expect(parseAddress('"john doe"@example.com')?.localPart).toBe('"john doe"');
    expect(parseAddress("a+tag@example.com")?.address).toBe("a+tag@example.com");
  });

  it("rejects what RFC 5321 rejects", () => {
    for (const bad of [
      "",
      "@example.com",
      "user@",
      "user",
      "a..b@example.com",
      ".a@example.com",
      "a.@example.com",
      `${"a".repeat(65)}@example.com`,
      "a b@example.com",
      "user@localhost",
      "user@exa_mple.com",
      '"unterminated@example.com',
    ]) {
      expect(parseAddress(bad), bad).toBeNull();
    }
  });

  it("accepts UTF-8 local parts only with SMTPUTF8 (RFC 6531)", () => {
    expect(parseAddress("jösé@example.com")).toBeNull();
    expect(parseAddress("jösé@example.com", { utf8: true })?.address).toBe("jösé@example.com");
  });
});

describe("login names", () => {
  it("keeps SASL separators out", () => {
    expect(normalizeLoginName(" acme ")).toBe("acme");
    expect(normalizeLoginName("acme.mx@isp")).toBe("acme.mx@isp");
    for (const bad of ["", "with space", "nul\0byte", "-lead", "a".repeat(65), "colon:x"]) expect(normalizeLoginName(bad), bad).toBeNull();
  });
});

describe("client networks", async () => {
  const { addressInNetworks, parseCidr } = await import("../../lib/validation/cidr.ts");
  it("parses networks and single hosts", () => {
    expect(parseCidr("192.0.2.0/24")).toEqual({ ip: "192.0.2.0", prefix: 24, type: "ipv4" });
    expect(parseCidr("2001:db8::1")).toEqual({ ip: "2001:db8::1", prefix: 128, type: "ipv6" });
    for (const bad of ["192.0.2.0/33", "300.1.1.1", "example.com", "10.0.0.0/8/1", "10.0.0.0/x"]) expect(parseCidr(bad), bad).toBeNull();
  });
  it("matches addresses, IPv4-mapped ones included", () => {
    expect(addressInNetworks("192.0.2.77", ["198.51.100.0/24", "192.0.2.0/24"])).toBe(true);
    expect(addressInNetworks("::ffff:192.0.2.77", ["192.0.2.0/24"])).toBe(true);
    expect(addressInNetworks("192.0.3.1", ["192.0.2.0/24"])).toBe(false);
    expect(addressInNetworks("2001:db8::5", ["2001:db8::/32"])).toBe(true);
    expect(addressInNetworks("192.0.2.1", [])).toBe(false);
  });
});

describe("queue ids", async () => {
  const { newQueueId, queueIdAt } = await import("../../lib/queue/queue-id.ts");
  it("strictly increase, even within one millisecond", () => {
    const ids = Array.from({ length: 1000 }, () => newQueueId(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    expect(ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{16}$/.test(id))).toBe(true);
  });
  it("order by time, and queueIdAt bounds them", () => {
    const early = newQueueId(1_700_000_000_000);
    const late = newQueueId(1_700_000_000_500);
    expect(early < queueIdAt(1_700_000_000_400)).toBe(true);
    expect(late >= queueIdAt(1_700_000_000_400)).toBe(true);
  });
});

describe("HOST:PORT (SMARTHOST, a domain's ETRN target)", () => {
  it("accepts a host and a port and splits at the last colon", () => {
    const value = hostPortSchema.parse(" mail.customer.example:2525 ");
    expect(parseHostPort(value)).toEqual({ host: "mail.customer.example", port: 2525 });
    expect(parseHostPort(hostPortSchema.parse("127.0.0.1:25"))).toEqual({ host: "127.0.0.1", port: 25 });
  });

  it.each(["mail.example", "mail.example:", "mail.example:0", "mail.example:65536", "[::1]:25", "a b:25"])("refuses %s", (input) => {
    expect(hostPortSchema.safeParse(input).success).toBe(false);
  });
});

describe("queue ids", () => {
  it("accepts the ids newQueueId issues and refuses anything else", () => {
    expect(isQueueId(newQueueId())).toBe(true);
    for (const bad of ["", "abc", "0123456789ABCDEF0123456789ABCDEFG", "../etc", "01ARZ3NDEK TSV4"]) expect(isQueueId(bad)).toBe(false);
  });
});

describe("internationalized domain names for display (RFC 5890)", () => {
  it("shows the U-labels of an A-label name and leaves other names alone", () => {
    expect(unicodeDomainName("xn--bcher-kva.example")).toBe("bücher.example");
    expect(unicodeDomainName("mail.xn--mnchen-3ya.example")).toBe("mail.münchen.example");
    expect(unicodeDomainName("plain.example")).toBe("plain.example");
  });
});

describe("input problems in words", () => {
  it("says a missing field is required instead of zod's type message; a schema's own message wins", () => {
    const schema = z.object({ name: z.string(), role: z.enum(["a", "b"], { message: "choose a or b" }), n: z.coerce.number().min(1, "at least 1") });
    expect(() => parseInput(schema, { role: "a", n: "2" })).toThrow("name: this field is required");
    expect(() => parseInput(schema, { name: "x", n: "2" })).toThrow("role: choose a or b");
    expect(() => parseInput(schema, { name: "x", role: "a", n: "0" })).toThrow("n: at least 1");
  });
});
