// DATA: collect the message under its size limit, inspect it, prepend our Received field and
// store it with one delivery per recipient. The reply is decided only once the store has
// committed (design: queue semantics); any failure to store is 451 4.3.0 with nothing stored.
import type { SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { inspectMessage } from "./inspect-message.ts";
import type { MemoryBudget } from "./memory-budget.ts";
import { MessageCollector } from "./message-collector.ts";
import { MESSAGE_SIZE_CAP } from "./mx-limits.ts";
import { REPLIES, replyText, type Reply } from "./mx-replies.ts";
import { mxState, type MxRecipientAddress } from "./mx-session.ts";
import { receivedHeader } from "./received-header.ts";
import { headerSection } from "../../lib/messages/header-fields.ts";
import { summarizeHeaders } from "../../lib/messages/summarize-headers.ts";
import { newQueueId } from "../../lib/queue/queue-id.ts";
import { storeMessage, type ResolvedRecipient } from "../../lib/queue/store-message.ts";

export type DataOutcome = { queued: string } | { refusal: Reply };

export function acceptMessage(stream: SMTPServerDataStream, session: SMTPServerSession, hostname: string, budget: MemoryBudget): Promise<DataOutcome> {
  const recipients = (session.envelope.rcptTo as MxRecipientAddress[]).flatMap((a) => (a.recipient ? [{ ...a.recipient, limit: a.maxMessageSize! }] : []));
  // RFC 1870 §6.3: the limit is enforced while the data streams in; with recipients in several
  // domains, the smallest of their limits applies to the one stored copy.
  const collector = new MessageCollector(Math.min(MESSAGE_SIZE_CAP, ...recipients.map((r) => r.limit)), budget.open(session.remoteAddress));
  return new Promise<DataOutcome>((resolve) => {
    stream.on("data", (chunk: Buffer) => collector.push(chunk));
    // the client went away before the final dot: nothing to reply to, nothing stored
    stream.once("error", () => collector.release());
    stream.once("end", () => {
      store(collector, session, recipients, hostname)
        .catch((error: unknown) => {
          const code = (error as { code?: string }).code ?? "INTERNAL";
          mxState(session).log.error({ code, err: error, size: collector.size }, "message not stored");
          return { refusal: REPLIES.temporaryFailure };
        })
        .then(resolve)
        .finally(() => collector.release());
    });
  });
}

async function store(collector: MessageCollector, session: SMTPServerSession, recipients: ResolvedRecipient[], hostname: string): Promise<DataOutcome> {
  const log = mxState(session).log;
  const refuse = (reply: Reply): DataOutcome => {
    log.info({ size: collector.size, reply: `${reply.code} ${replyText(reply)}` }, "message refused");
    return { refusal: reply };
  };
  const envelope = session.envelope;
  const mailFrom = envelope.mailFrom ? envelope.mailFrom.address : "";
  const tlsCipher = session.secure && session.tlsOptions ? session.tlsOptions : null;
  const id = newQueueId();
  const trace = receivedHeader({
    heloName: session.hostNameAppearsAs || session.clientHostname,
    clientAddress: session.remoteAddress,
    hostname,
    queueId: id,
    extended: session.openingCommand === "EHLO",
    smtputf8: Boolean(envelope.smtpUtf8),
    tls: tlsCipher ? { version: tlsCipher.version, cipher: tlsCipher.name } : null,
    authenticated: Boolean(session.user),
    recipient: recipients.length === 1 ? recipients[0].address : undefined,
    date: new Date(),
  });
  const collected = collector.finish(Buffer.from(trace, "utf8"));
  if ("refusal" in collected) return refuse(collected.refusal);
  const problem = inspectMessage(collected.body);
  if (problem) return refuse(problem);
  const raw = collected.raw;
  const bodyParam = envelope.mailFrom && envelope.mailFrom.args ? envelope.mailFrom.args.BODY : undefined;
  await storeMessage({
    id,
    mailFrom,
    raw,
    recipients: recipients.map(({ address, domainId, customerId }) => ({ address, domainId, customerId })),
    clientAddress: session.remoteAddress,
    heloName: session.hostNameAppearsAs || null,
    bodyType: typeof bodyParam === "string" ? bodyParam.toUpperCase() : null,
    smtputf8: Boolean(envelope.smtpUtf8),
    summary: summarizeHeaders(headerSection(collected.body)),
  });
  mxState(session).accepted++;
  log.info({ queueId: id, from: mailFrom, rcpt: recipients.map((r) => r.address), size: raw.length }, "message accepted");
  return { queued: id };
}
