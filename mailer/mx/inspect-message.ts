// Checks a received message before it is stored: line endings, NUL bytes, line length
// (RFC 5321 §2.3.8, §4.5.3.1.6) and the Received count that reveals a mail loop (RFC 5321 §6.3).
// A message that passes is stored byte for byte; one that fails is refused whole, never repaired.
import { MAX_RECEIVED_HEADERS, MAX_TEXT_LINE } from "./mx-limits.ts";
import { REPLIES, type Reply } from "./mx-replies.ts";
import { headerSection, readHeaderFields } from "../../lib/messages/header-fields.ts";

export function inspectMessage(body: Buffer): Reply | null {
  if (body.indexOf(0x00) >= 0) return REPLIES.dataNul;
  // Every LF must follow a CR, and there must be no other CR: as many CRs as LFs.
  let lineStart = 0;
  let lines = 0;
  for (let lf = body.indexOf(0x0a); lf >= 0; lf = body.indexOf(0x0a, lf + 1)) {
    if (lf === 0 || body[lf - 1] !== 0x0d) return REPLIES.dataBareNewline;
    if (lf + 1 - lineStart > MAX_TEXT_LINE) return REPLIES.dataLineTooLong;
    lineStart = lf + 1;
    lines++;
  }
  let crs = 0;
  for (let cr = body.indexOf(0x0d); cr >= 0; cr = body.indexOf(0x0d, cr + 1)) crs++;
  if (crs !== lines) return REPLIES.dataBareNewline;
  const received = readHeaderFields(headerSection(body)).filter((f) => f.name.toLowerCase() === "received").length;
  if (received > MAX_RECEIVED_HEADERS) return REPLIES.mailLoop;
  return null;
}
