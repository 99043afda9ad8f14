// Parses a stored DSN back with mailparser, keeping its message/delivery-status part as a part
// of its own (mailparser folds it into the text unless told otherwise).
import { simpleParser, type MailParserOptions, type ParsedMail } from "mailparser";

export interface ParsedDsn {
  mail: ParsedMail;
  /** the message/delivery-status part */
  status: string;
  /** the text/rfc822-headers part, if any */
  originalHeaders: string | null;
}

export async function parseDsn(raw: Buffer | Uint8Array): Promise<ParsedDsn> {
  // keepDeliveryStatus is a mailparser option its type declarations do not list
  const options = { keepDeliveryStatus: true } as MailParserOptions;
  const mail = await simpleParser(Buffer.from(raw), options);
  const status = mail.attachments.find((a) => a.contentType === "message/delivery-status");
  if (!status) throw new Error("no message/delivery-status part");
  const headers = mail.attachments.find((a) => a.contentType === "text/rfc822-headers");
  return { mail, status: status.content.toString("utf8"), originalHeaders: headers ? headers.content.toString("utf8") : null };
}
