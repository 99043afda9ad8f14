// RFC 3464 DSNs as Mailharbor builds them, parsed back with mailparser.
import { describe, expect, it } from "vitest";
import { buildDsn, rfc5322Date, statusFromReply } from "../../lib/dsn/build-dsn.ts";
import { parseDsn } from "../helpers/parse-dsn.ts";

const original = Buffer.from(
  "From: Author <author@origin.example>\r\nSubject: Quarterly report\r\nMessage-ID: <q@origin.example>\r\n\r\nThe body is not returned.\r\n",
);
const receivedAt = new Date("2026-11-01T08:00:00Z");

describe("DSN building", () => {
  it("reports a bounce as multipart/report with a delivery-status part and the original headers only", async () => {
    const raw = buildDsn({
      kind: "bounced",
      reportingMta: "mx.isp.example",
      now: new Date("2026-11-02T09:30:00Z"),
      original: { queueId: "01ABCDEF", mailFrom: "author@origin.example", receivedAt, raw: original },
      recipients: [
        {
          recipient: "gone@customer.example",
          action: "failed",
          status: "5.1.1",
          diagnostic: "550 5.1.1 <gone@customer.example>: no such user",
          remoteMta: "mail.customer.example",
          lastAttempt: new Date("2026-11-02T09:29:00Z"),
        },
      ],
    });
    const { mail, status, originalHeaders } = await parseDsn(raw);
    expect(mail.headers.get("content-type")).toMatchObject({ value: "multipart/report", params: { "report-type": "delivery-status" } });
    expect(mail.from).toMatchObject({ value: [{ address: "MAILER-DAEMON@mx.isp.example" }] });
    expect(mail.to).toMatchObject({ value: [{ address: "author@origin.example" }] });
    expect(mail.headers.get("auto-submitted")).toBe("auto-replied");
    expect(mail.text).toContain("gone@customer.example");
    const [perMessage, perRecipient] = status.trim().split(/\r?\n\r?\n/);
    expect(perMessage).toContain("Reporting-MTA: dns; mx.isp.example");
    expect(perMessage).toContain("Arrival-Date: Sun, 01 Nov 2026 08:00:00 +0000");
    expect(perRecipient.split(/\r?\n/)).toEqual([
      "Final-Recipient: rfc822; gone@customer.example",
      "Action: failed",
      "Status: 5.1.1",
      "Remote-MTA: dns; mail.customer.example",
      "Diagnostic-Code: smtp; 550 5.1.1 <gone@customer.example>: no such user",
      "Last-Attempt-Date: Mon, 02 Nov 2026 09:29:00 +0000",
    ]);
    expect(originalHeaders).toContain("Subject: Quarterly report");
    expect(originalHeaders).not.toContain("The body is not returned");
  });

  it("reports an expiry (5.4.7) and a delay warning (Will-Retry-Until), one block per recipient", async () => {
    const expired = await parseDsn(
      buildDsn({
        kind: "expired",
        reportingMta: "mx.isp.example",
        retentionDays: 30,
        original: { queueId: "01X", mailFrom: "author@origin.example", receivedAt, raw: null },
        recipients: [
          { recipient: "a@customer.example", action: "failed", status: "5.4.7" },
          { recipient: "b@customer.example", action: "failed", status: "5.4.7" },
        ],
      }),
    );
    expect(expired.status.match(/Status: 5\.4\.7/g)).toHaveLength(2);
    expect(expired.originalHeaders).toBeNull();
    expect(expired.mail.text).toContain("30 days");

    const until = new Date("2026-12-01T08:00:00Z");
    const delayed = await parseDsn(
      buildDsn({
        kind: "delayed",
        reportingMta: "mx.isp.example",
        original: { queueId: "01Y", mailFrom: "author@origin.example", receivedAt, raw: original },
        recipients: [{ recipient: "a@customer.example", action: "delayed", status: "4.4.1", willRetryUntil: until }],
      }),
    );
    expect(delayed.mail.subject).toMatch(/Delayed/);
    expect(delayed.status).toContain("Action: delayed");
    expect(delayed.status).toContain(`Will-Retry-Until: ${rfc5322Date(until)}`);
  });

  it("marks an internationalised recipient as utf-8 (RFC 6533)", async () => {
    const { status } = await parseDsn(
      buildDsn({
        kind: "bounced",
        reportingMta: "mx.isp.example",
        original: { queueId: "01Z", mailFrom: "author@origin.example", receivedAt, raw: original },
        recipients: [{ recipient: "jörg@customer.example", action: "failed", status: "5.1.1" }],
      }),
    );
    expect(status).toContain("Final-Recipient: utf-8; jörg@customer.example");
  });

  it("takes the status from the reply's enhanced code, else from its class", () => {
    expect(statusFromReply("550 5.1.1 no such user")).toBe("5.1.1");
    expect(statusFromReply("552-5.2.2 mailbox full")).toBe("5.2.2");
    expect(statusFromReply("554 transaction failed")).toBe("5.0.0");
    expect(statusFromReply("451 4.3.0 try later")).toBe("4.3.0");
    // a mismatched class is not trusted
    expect(statusFromReply("550 4.1.1 odd")).toBe("5.0.0");
  });
});
