// One reading of a message's header section (lib/messages/header-fields.ts) for intake's summary
// and loop count, the portal's header view and the headers a DSN returns: it ends at the first
// empty line (RFC 5322 §2.1), and lines end with CRLF only, as the MX stores them (it refuses a
// bare LF, RFC 5321 §2.3.8). The portal's view once had its own reading that took a bare LF as a
// line end and looked past a leading empty line; these cases tell the two apart.
import { describe, expect, it } from "vitest";
import { returnedHeaders } from "../../lib/dsn/build-dsn.ts";
import { headerSection, readHeaderFields } from "../../lib/messages/header-fields.ts";
import { summarizeHeaders } from "../../lib/messages/summarize-headers.ts";
import { headerBlock } from "../../lib/queue/message-detail.ts";

const text = (b: Buffer) => b.toString("latin1");

describe("the header section", () => {
  it("ends at the first empty line, for every reader alike", () => {
    const raw = Buffer.from("Subject: one\r\nFrom: a@b.example\r\n\r\nX-Body: not a header\r\n\r\nmore\r\n");
    expect(text(headerSection(raw))).toBe("Subject: one\r\nFrom: a@b.example\r\n");
    expect(headerBlock(raw)).toEqual({ text: "Subject: one\r\nFrom: a@b.example", truncated: false });
    expect(text(returnedHeaders(raw))).toBe("Subject: one\r\nFrom: a@b.example\r\n");
    expect(readHeaderFields(headerSection(raw)).map((f) => f.name)).toEqual(["Subject", "From"]);
  });

  it("is empty when the message starts with the empty line: what follows is body", () => {
    const raw = Buffer.from("\r\nSubject: in the body\r\n\r\nrest\r\n");
    expect(headerSection(raw).length).toBe(0);
    expect(headerBlock(raw)).toEqual({ text: "", truncated: false });
    expect(returnedHeaders(raw).length).toBe(0);
    expect(summarizeHeaders(headerSection(raw)).subject).toBeNull();
  });

  it("does not end at a bare LF pair: only CRLF ends a line", () => {
    const raw = Buffer.from("Subject: a\n\nX-Still: header\r\nFrom: c@d.example\r\n\r\nbody\r\n");
    expect(text(headerSection(raw))).toBe("Subject: a\n\nX-Still: header\r\nFrom: c@d.example\r\n");
    expect(headerBlock(raw).text).toBe("Subject: a\n\nX-Still: header\r\nFrom: c@d.example");
    expect(text(returnedHeaders(raw))).toBe(text(headerSection(raw)));
    // the bare LFs are bytes of the Subject line, not line ends
    expect(readHeaderFields(headerSection(raw)).map((f) => f.name)).toEqual(["Subject", "From"]);
  });

  it("is the whole message when there is no empty line, and the portal cuts it", () => {
    const raw = Buffer.from(`Subject: long\r\n${"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(2000)}`);
    expect(headerSection(raw)).toEqual(raw);
    const block = headerBlock(raw);
    expect(block.truncated).toBe(true);
    expect(block.text.length).toBe(64 * 1024);
  });
});
