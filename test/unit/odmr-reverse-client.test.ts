// Pieces of the turned-around SMTP client: dot-stuffing (RFC 5321 §4.5.2), EHLO parsing (CHUNKING,
// LIMITS) and the split of a message's recipients over transactions (RFC 9422).
import { describe, expect, it } from "vitest";
import { splitRecipients } from "../../mailer/delivery/reverse-session.ts";
import { dotStuff, parseEhlo } from "../../mailer/delivery/reverse-smtp-client.ts";

const stuffed = (text: string) => Buffer.concat(dotStuff(Buffer.from(text))).toString();

describe("dot-stuffing", () => {
  it("doubles a dot at the start of any line, including the first", () => {
    expect(stuffed(".first\r\nmiddle\r\n.\r\n..two\r\nlast.\r\n")).toBe("..first\r\nmiddle\r\n..\r\n...two\r\nlast.\r\n");
  });

  it("ends the data with CRLF", () => {
    expect(stuffed("no newline at the end")).toBe("no newline at the end\r\n");
    expect(stuffed("ends\r\n")).toBe("ends\r\n");
  });
});

describe("EHLO reply", () => {
  it("reads the server name and the extensions the session uses", () => {
    const caps = parseEhlo({ code: 250, text: "", lines: ["mail.customer.example Hello", "PIPELINING", "8BITMIME", "SIZE 1000000", "SMTPUTF8", "STARTTLS"] });
    expect(caps).toEqual({
      serverName: "mail.customer.example",
      pipelining: true,
      chunking: false,
      eightBitMime: true,
      smtputf8: true,
      maxSize: 1_000_000,
      limits: { mailMax: 0, rcptMax: 0, rcptDomainMax: 0 },
    });
    expect(parseEhlo({ code: 250, text: "", lines: ["host", "SIZE"] })).toMatchObject({ pipelining: false, maxSize: 0 });
  });

  it("reads CHUNKING and RFC 9422 LIMITS, and skips smtp-sink's blank last line", () => {
    const caps = parseEhlo({
      code: 250,
      text: "",
      lines: ["sink", "PIPELINING", "CHUNKING", "limits mailmax=1000 RCPTMAX=50000 RCPTDOMAINMAX=2 FUTURE=x", ""],
    });
    expect(caps).toMatchObject({ pipelining: true, chunking: true, limits: { mailMax: 1000, rcptMax: 50000, rcptDomainMax: 2 } });
    expect(parseEhlo({ code: 250, text: "", lines: ["h", "LIMITS MAILMAX=0 RCPTMAX=abc"] }).limits).toEqual({ mailMax: 0, rcptMax: 0, rcptDomainMax: 0 });
  });
});

describe("recipients over transactions (RFC 9422 RCPTMAX, RCPTDOMAINMAX)", () => {
  const d = (...addresses: string[]) => addresses.map((recipient) => ({ recipient }));
  const split = (list: { recipient: string }[], rcptMax: number, rcptDomainMax: number) =>
    splitRecipients(list, { mailMax: 0, rcptMax, rcptDomainMax }).map((part) => part.map((x) => x.recipient));

  it("keeps one transaction without limits and splits at RCPTMAX", () => {
    expect(split(d("a@x.example", "b@x.example", "c@x.example"), 0, 0)).toEqual([["a@x.example", "b@x.example", "c@x.example"]]);
    expect(split(d("a@x.example", "b@x.example", "c@x.example"), 2, 0)).toEqual([["a@x.example", "b@x.example"], ["c@x.example"]]);
  });

  it("starts a new transaction for a domain beyond RCPTDOMAINMAX", () => {
    expect(split(d("a@x.example", "b@y.example", "c@x.example", "d@z.example"), 0, 2)).toEqual([
      ["a@x.example", "b@y.example", "c@x.example"],
      ["d@z.example"],
    ]);
  });
});
