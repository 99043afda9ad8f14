// The trace field the MX prepends to every message it accepts (RFC 5321 §4.4; WITH keywords from
// RFC 3848 and RFC 6531), e.g.
//   Received: from client.example ([192.0.2.1])
//           (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
//           by mx.isp.example (Mailharbor) with ESMTPS id 0H2N4V6X8Z1B3D5F
//           for <user@customer.example>; Sat, 21 Nov 2026 09:26:28 +0000
import net from "node:net";
import { rfc5322Date } from "../../lib/dsn/build-dsn.ts";

export interface ReceivedInfo {
  heloName: string;
  clientAddress: string;
  hostname: string;
  queueId: string;
  /** EHLO (not HELO) was used */
  extended: boolean;
  smtputf8: boolean;
  tls?: { version: string; cipher: string } | null;
  authenticated: boolean;
  /** named only when the message has exactly one recipient (RFC 5321 §7.2: a "for" clause with many would disclose them) */
  recipient?: string;
  date: Date;
}

/** The HELO name is the client's word: keep it to characters that cannot break the field's syntax. */
function safeToken(value: string): string {
  return value.replace(/[^\x21-\x7e]|[()<>;\\"]/g, "?") || "unknown";
}

function withKeyword(info: Pick<ReceivedInfo, "extended" | "smtputf8" | "tls" | "authenticated">): string {
  const base = info.smtputf8 ? "UTF8SMTP" : info.extended || info.tls ? "ESMTP" : "SMTP";
  return base + (info.tls ? "S" : "") + (info.authenticated ? "A" : "");
}

export function receivedHeader(info: ReceivedInfo): string {
  // RFC 5321 §4.1.3: an IPv6 address literal carries the "IPv6:" tag
  const literal = net.isIPv6(info.clientAddress) ? `IPv6:${info.clientAddress}` : info.clientAddress;
  const lines = [`Received: from ${safeToken(info.heloName)} ([${literal}])`];
  if (info.tls) lines.push(`\t(using ${safeToken(info.tls.version)} with cipher ${safeToken(info.tls.cipher)})`);
  lines.push(`\tby ${info.hostname} (Mailharbor) with ${withKeyword(info)} id ${info.queueId}`);
  const date = rfc5322Date(info.date);
  if (info.recipient) lines.push(`\tfor <${info.recipient}>; ${date}`);
  else lines[lines.length - 1] += `; ${date}`;
  return lines.join("\r\n") + "\r\n";
}
