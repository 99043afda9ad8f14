// What a DSN returns of the original: its header section, capped at HEADER_BYTES (64 KB) and cut
// at a line end, on every path (lib/dsn/build-dsn.ts), however large the message and whether or
// not it has an empty line.
import { describe, expect, it } from "vitest";
import { buildDsn, HEADER_BYTES, returnedHeaders } from "../../lib/dsn/build-dsn.ts";
import { parseDsn } from "../helpers/parse-dsn.ts";

/** A message that is header lines only: no empty line anywhere. */
function allHeader(bytes: number): Buffer {
  const line = "X-Filler: " + "a".repeat(88) + "\r\n";
  return Buffer.from(`Subject: no empty line\r\n${line.repeat(Math.ceil(bytes / line.length))}`);
}

describe("the original in a DSN", () => {
  it("returns at most 64 KB, cut at a line end, of a 25 MB message without an empty line", async () => {
    const raw = allHeader(25 * 1024 * 1024);
    const returned = returnedHeaders(raw);
    expect(returned.length).toBeLessThanOrEqual(HEADER_BYTES);
    expect(returned.length).toBeGreaterThan(HEADER_BYTES - 200);
    expect(returned.subarray(-2).toString()).toBe("\r\n");
    const dsn = buildDsn({
      kind: "bounced",
      reportingMta: "mx.isp.example",
      original: { queueId: "01BIG", mailFrom: "author@origin.example", receivedAt: new Date(), raw },
      recipients: [{ recipient: "u@customer.example", action: "failed", status: "5.0.0" }],
    });
    expect(dsn.length).toBeLessThan(HEADER_BYTES + 4096);
    const { originalHeaders } = await parseDsn(dsn);
    expect(originalHeaders).toContain("Subject: no empty line");
  });

  it("returns a header section that ends within the cap whole, and never the body", () => {
    const raw = Buffer.from("Subject: small\r\nFrom: a@origin.example\r\n\r\nbody text\r\n");
    expect(returnedHeaders(raw).toString()).toBe("Subject: small\r\nFrom: a@origin.example\r\n");
    // a header section longer than the cap is cut too, before its empty line
    const long = Buffer.concat([allHeader(HEADER_BYTES * 2), Buffer.from("\r\nthe body\r\n")]);
    expect(returnedHeaders(long).length).toBeLessThanOrEqual(HEADER_BYTES);
    expect(returnedHeaders(long).toString()).not.toContain("the body");
  });
});
