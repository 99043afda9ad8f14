// Pieces of the turned-around SMTP client: dot-stuffing (RFC 5321 §4.5.2) and EHLO parsing.
import { describe, expect, it } from "vitest";
import { dotStuff, parseEhlo } from "../../mailer/odmr/reverse-smtp-client.ts";

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
    expect(caps).toEqual({ serverName: "mail.customer.example", pipelining: true, eightBitMime: true, smtputf8: true, maxSize: 1_000_000 });
    expect(parseEhlo({ code: 250, text: "", lines: ["host", "SIZE"] })).toMatchObject({ pipelining: false, maxSize: 0 });
  });
});
