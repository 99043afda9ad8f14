// Delivery status notifications (RFC 3464): a multipart/report (RFC 6522) with a human-readable
// part, a message/delivery-status part and the original message's headers (text/rfc822-headers).
// They are sent with an empty envelope sender (RFC 5321 §4.5.5), so they never bounce back.
import crypto from "node:crypto";
import { headerSection } from "../messages/header-fields.ts";

/** bounced: the customer's server refused it; returned: the provider's staff returned it; expired; delayed */
export type DsnKind = "bounced" | "returned" | "expired" | "delayed";

export interface DsnRecipient {
  recipient: string;
  /** RFC 3464 §2.3.4 */
  action: "failed" | "delayed";
  /** RFC 3463 status, e.g. 5.1.1 */
  status: string;
  /** the customer's reply, e.g. "550 5.1.1 <u@example.com>: no such user" (sent as smtp; …) */
  diagnostic?: string | null;
  /** the host name the customer's server gave in its greeting */
  remoteMta?: string | null;
  lastAttempt?: Date | null;
  willRetryUntil?: Date | null;
}

export interface DsnInput {
  kind: DsnKind;
  /** our host name (Reporting-MTA, From) */
  reportingMta: string;
  original: {
    queueId: string;
    mailFrom: string;
    receivedAt: Date;
    /** the original message (its first HEADER_BYTES are enough), or null when its bytes are gone */
    raw: Buffer | null;
  };
  recipients: DsnRecipient[];
  /** days a domain holds mail, for the explanation of an expiry */
  retentionDays?: number;
  now?: Date;
}

const SUBJECTS: Record<DsnKind, string> = {
  bounced: "Undelivered Mail Returned to Sender",
  returned: "Undelivered Mail Returned to Sender",
  expired: "Undelivered Mail Returned to Sender",
  delayed: "Delayed Mail (still being held)",
};

/** A DSN returns only the original's headers: callers need read no more of it than this. */
export const HEADER_BYTES = 64 * 1024;

// A DSN line stays well inside RFC 5322's 998 octets.
const MAX_FIELD = 900;

/** The enhanced status (RFC 3463) of an SMTP reply, or the reply's class with .0.0 when it has none. */
export function statusFromReply(reply: string): string {
  const match = /^([245])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply.trim());
  if (match && match[1] === match[2][0]) return match[2];
  const cls = /^([245])/.exec(reply.trim())?.[1] ?? "5";
  return `${cls}.0.0`;
}

/** RFC 5322 §3.3 date-time in UTC. */
export function rfc5322Date(date: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${days[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function oneLine(value: string): string {
  const flat = value.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  return flat.length > MAX_FIELD ? flat.slice(0, MAX_FIELD) + "…" : flat;
}

/** RFC 3464 §2.3.2 / RFC 6533 §3: the address type is rfc822, or utf-8 for an internationalised address. */
function addressField(address: string): string {
  return /[^\x00-\x7f]/.test(address) ? `utf-8; ${address}` : `rfc822; ${address}`;
}

/**
 * What a DSN returns of the original (RFC 3462 text/rfc822-headers): its header section, and never
 * more than HEADER_BYTES of it, cut at a line end. A message without an empty line is all header,
 * and must not come back whole (a 25 MB "header" would make a 25 MB bounce). Every DSN path
 * (bounce, return by staff, expiry, delay warning) goes through here.
 */
export function returnedHeaders(raw: Buffer): Buffer {
  const head = headerSection(raw.subarray(0, HEADER_BYTES + 2));
  if (head.length <= HEADER_BYTES) return head;
  const lineEnd = head.lastIndexOf(0x0a, HEADER_BYTES - 1);
  return head.subarray(0, lineEnd >= 0 ? lineEnd + 1 : HEADER_BYTES);
}

function explanation(input: DsnInput): string[] {
  const list = input.recipients.map((r) => `<${r.recipient}>${r.diagnostic ? `: ${oneLine(r.diagnostic)}` : ""}`);
  const intro = `This is the mail system at host ${input.reportingMta}.`;
  switch (input.kind) {
    case "bounced":
      return [intro, "", "Your message could not be delivered to the following recipients.", "Their mail server refused it permanently:", "", ...list];
    case "returned":
      return [
        intro,
        "",
        "Your message could not be delivered to the following recipients.",
        "The mail service holding it for them returned it to you:",
        "",
        ...list,
      ];
    case "expired":
      return [
        intro,
        "",
        "Your message could not be delivered to the following recipients.",
        `Their mail server did not collect it within the ${input.retentionDays ?? "configured"} days we hold mail for them,`,
        "so it has been removed:",
        "",
        ...list,
      ];
    case "delayed": {
      const until = input.recipients.find((r) => r.willRetryUntil)?.willRetryUntil;
      return [
        intro,
        "",
        "This is a warning only; you do not need to send your message again.",
        "Your message is held here until the recipients' mail server collects it:",
        "",
        ...list,
        "",
        until ? `It will be held until ${rfc5322Date(until)}.` : "It will be held for a while longer.",
      ];
    }
  }
}

/** Builds the DSN for one original message as raw RFC 5322 bytes (CRLF line ends). */
export function buildDsn(input: DsnInput): Buffer {
  const now = input.now ?? new Date();
  const boundary = `=_dsn_${crypto.randomBytes(12).toString("hex")}`;
  const messageId = `<${now.getTime()}.${crypto.randomBytes(6).toString("hex")}@${input.reportingMta}>`;
  const headers = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.original.mailFrom}>`,
    `Subject: ${SUBJECTS[input.kind]}`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: ${messageId}`,
    // RFC 3834 §5: an automatic reply, which auto-responders must not answer
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
  ];
  const perMessage = [
    `Reporting-MTA: dns; ${input.reportingMta}`,
    `X-Mailharbor-Queue-ID: ${input.original.queueId}`,
    `Arrival-Date: ${rfc5322Date(input.original.receivedAt)}`,
  ];
  const perRecipient = input.recipients.map((r) => {
    const fields = [`Final-Recipient: ${addressField(r.recipient)}`, `Action: ${r.action}`, `Status: ${r.status}`];
    if (r.remoteMta) fields.push(`Remote-MTA: dns; ${oneLine(r.remoteMta)}`);
    if (r.diagnostic) fields.push(`Diagnostic-Code: smtp; ${oneLine(r.diagnostic)}`);
    if (r.lastAttempt) fields.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    if (r.willRetryUntil) fields.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
    return fields.join("\r\n");
  });
  const parts: Buffer[] = [
    Buffer.from(headers.join("\r\n") + "\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n", "utf8"),
    Buffer.from(
      `--${boundary}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Transfer-Encoding: 8bit\r\n\r\n${explanation(input).join("\r\n")}\r\n\r\n`,
      "utf8",
    ),
    Buffer.from(
      `--${boundary}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n` +
        [perMessage.join("\r\n"), ...perRecipient].join("\r\n\r\n") +
        "\r\n\r\n",
      "utf8",
    ),
  ];
  if (input.original.raw) {
    const original = returnedHeaders(input.original.raw);
    const eightBit = original.some((byte) => byte > 0x7f);
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Description: Undelivered Message Headers\r\n` +
          `Content-Type: text/rfc822-headers${eightBit ? "\r\nContent-Transfer-Encoding: 8bit" : ""}\r\n\r\n`,
        "utf8",
      ),
    );
    parts.push(original);
    if (!original.subarray(-2).equals(Buffer.from("\r\n"))) parts.push(Buffer.from("\r\n"));
    parts.push(Buffer.from("\r\n"));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`, "utf8"));
  return Buffer.concat(parts);
}
