// A customer's mail server written out by hand, for what smtp-server cannot show: the exact
// commands it is given (BDAT sizes, how recipients are split), every read it got and how many
// reply writes came before it (so a test can see whether the provider wrote twice without
// waiting for a reply), CHUNKING (RFC 3030) and LIMITS (RFC 9422) in its EHLO reply, and replies
// written as one write per read (like Postfix's smtp-sink), one write per reply, or as a Postfix
// smtpd behind a relay without TCP_NODELAY writes them (nagleAckMs).
import net from "node:net";
import { MessageWaiters } from "./message-waiters.ts";
import type { ReceivedMessage, SmtpReceiver } from "./smtp-receiver.ts";

export interface ScriptedOptions {
  /** EHLO extension lines, e.g. ["PIPELINING", "CHUNKING", "LIMITS MAILMAX=3 RCPTMAX=2"] */
  extensions: string[];
  /** write each reply on its own, this many ms apart (a peer whose replies arrive split) */
  splitRepliesMs?: number;
  /** answer each read this many ms after it (a server a few ms away, or slow to answer) */
  replyDelayMs?: number;
  /** the reply to a message's end (final dot or BDAT LAST), default "250 2.0.0 ok" */
  final?: (message: ReceivedMessage) => string;
  /** the reply to RCPT TO for this address, default "250 2.1.5 ok" */
  rcpt?: (address: string) => string;
  /** replies from the first BDAT on are held back this many ms, then written together (a long round trip) */
  holdFirstBdatMs?: number;
  /**
   * a transaction stays open until a 2yz to its data or RSET, as RFC 3030 §2 lets a server keep
   * it after a refused BDAT: a MAIL inside it gets 503, and a RCPT joins it
   */
  strictTransactions?: boolean;
  /**
   * Postfix smtpd seen through a relay that does not set TCP_NODELAY: what it has to answer before
   * a message's end (BDAT LAST, final dot) is written before that end is taken (smtpd answers the
   * envelope before it waits for its cleanup), and a write made while an earlier one is
   * unacknowledged waits (Nagle) until the client's next bytes arrive, which carry the ACK, or
   * until this many ms have passed: the delayed ACK of a side that has nothing to send
   */
  nagleAckMs?: number;
}

export interface Read {
  text: string;
  /** reply writes the receiver had made before this read arrived (the greeting is the first) */
  repliesBefore: number;
}

export interface ScriptedReceiver extends SmtpReceiver {
  /** command lines in order (BDAT with its arguments, without the chunk) */
  commands: string[];
  reads: Read[];
  /** writes that waited for a delayed ACK (nagleAckMs), not for the client's next bytes */
  readonly delayedAcks: number;
}

export function scriptedReceiver(options: ScriptedOptions): ScriptedReceiver {
  const messages: ReceivedMessage[] = [];
  const commands: string[] = [];
  const reads: Read[] = [];
  const waiters = new MessageWaiters(messages);
  const sockets = new Set<net.Socket>();
  let delayedAcks = 0;

  const serve = (socket: net.Socket) => {
    sockets.add(socket);
    let writes = 0;
    let buffer = Buffer.alloc(0);
    let mode: "command" | "data" = "command";
    let bdatLeft = 0;
    let bdatLast = false;
    let body: Buffer[] = [];
    let mailFrom = "";
    let rcptTo: string[] = [];
    let chain = Promise.resolve();
    let open = false;
    let holdUntil = 0;
    const held: string[] = [];
    // nagleAckMs: the latest write is not acknowledged yet; what is written meanwhile waits
    let unacked = false;
    const waitingForAck: string[] = [];
    let ackTimer: NodeJS.Timeout | null = null;
    const acknowledged = () => {
      unacked = false;
      if (ackTimer) clearTimeout(ackTimer);
      ackTimer = null;
      if (waitingForAck.length && !socket.destroyed) {
        unacked = true;
        socket.write(waitingForAck.splice(0).join(""));
      }
    };
    const send = (replies: string[]) => {
      if (!replies.length) return;
      if (options.nagleAckMs) {
        writes++;
        if (!unacked) {
          unacked = true;
          return void socket.write(replies.join(""));
        }
        waitingForAck.push(...replies);
        ackTimer ??= setTimeout(() => {
          delayedAcks++;
          acknowledged();
        }, options.nagleAckMs);
        return;
      }
      if (Date.now() < holdUntil) {
        if (held.length === 0) setTimeout(() => send(held.splice(0)), holdUntil - Date.now());
        held.push(...replies);
        return;
      }
      writes += options.splitRepliesMs ? replies.length : 1;
      if (!options.splitRepliesMs) return void socket.write(replies.join(""));
      // one write per reply, each after the previous one
      for (const reply of replies) {
        chain = chain.then(
          () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                if (!socket.destroyed) socket.write(reply);
                resolve();
              }, options.splitRepliesMs),
            ),
        );
      }
    };
    const finish = (chunked: boolean, before: string[]): string => {
      if (options.nagleAckMs) send(before.splice(0));
      const message: ReceivedMessage = { mailFrom, rcptTo, raw: Buffer.concat(body), secure: false };
      body = [];
      // RFC 3030 §2: data for a transaction without an accepted recipient is refused
      const reply = rcptTo.length === 0 ? "554 5.5.1 no valid recipients" : (options.final?.(message) ?? "250 2.0.0 ok");
      if (reply.startsWith("2")) {
        messages.push(message);
        waiters.arrived();
      }
      // a reply to the final dot ends the transaction either way (RFC 5321 §4.1.1.4)
      if (reply.startsWith("2") || !chunked) open = false;
      if (!open || !options.strictTransactions) rcptTo = [];
      return `${reply}\r\n`;
    };
    const process = (): string[] => {
      const replies: string[] = [];
      for (;;) {
        if (bdatLeft > 0) {
          const take = Math.min(bdatLeft, buffer.length);
          if (take === 0) break;
          body.push(buffer.subarray(0, take));
          buffer = buffer.subarray(take);
          bdatLeft -= take;
          if (bdatLeft === 0) replies.push(bdatLast ? finish(true, replies) : "250 2.0.0 chunk ok\r\n");
          continue;
        }
        if (mode === "data") {
          const end = buffer.indexOf("\r\n.\r\n");
          const empty = buffer.subarray(0, 3).toString() === ".\r\n";
          if (end < 0 && !empty) break;
          if (!empty) body.push(buffer.subarray(0, end + 2));
          buffer = buffer.subarray(empty ? 3 : end + 5);
          mode = "command";
          replies.push(finish(false, replies));
          continue;
        }
        const nl = buffer.indexOf("\r\n");
        if (nl < 0) break;
        const line = buffer.subarray(0, nl).toString("utf8");
        buffer = buffer.subarray(nl + 2);
        commands.push(line);
        const verb = line.split(" ")[0].toUpperCase();
        if (verb === "EHLO")
          replies.push(["scripted.customer.example", ...options.extensions].map((l, i, all) => `250${i === all.length - 1 ? " " : "-"}${l}\r\n`).join(""));
        else if (verb === "MAIL" && open && options.strictTransactions) replies.push("503 5.5.1 nested MAIL command\r\n");
        else if (verb === "MAIL") {
          mailFrom = /<([^>]*)>/.exec(line)?.[1] ?? "";
          open = true;
          replies.push("250 2.1.0 ok\r\n");
        } else if (verb === "RCPT") {
          const address = /<([^>]*)>/.exec(line)?.[1] ?? "";
          const reply = options.rcpt?.(address) ?? "250 2.1.5 ok";
          if (reply.startsWith("2")) rcptTo.push(address);
          replies.push(`${reply}\r\n`);
        } else if (verb === "DATA") {
          // RFC 2920 §3.1: DATA after no accepted recipient is refused, and no data follows
          if (rcptTo.length === 0) replies.push("554 5.5.1 no valid recipients\r\n");
          else {
            mode = "data";
            replies.push("354 go ahead\r\n");
          }
        } else if (verb === "BDAT") {
          if (options.holdFirstBdatMs && holdUntil === 0) holdUntil = Date.now() + options.holdFirstBdatMs;
          const [, size, last] = line.split(" ");
          bdatLeft = Number(size);
          bdatLast = last?.toUpperCase() === "LAST";
          if (bdatLeft === 0) replies.push(bdatLast ? finish(true, replies) : "250 2.0.0 chunk ok\r\n");
        } else if (verb === "RSET") {
          open = false;
          rcptTo = [];
          body = [];
          replies.push("250 2.0.0 reset\r\n");
        } else if (verb === "QUIT") {
          replies.push("221 2.0.0 bye\r\n");
          send(replies);
          void chain.then(() => socket.end());
          return [];
        } else replies.push("502 5.5.2 not here\r\n");
      }
      return replies;
    };
    socket.on("data", (chunk: Buffer) => {
      reads.push({ text: chunk.toString("latin1"), repliesBefore: writes });
      if (options.nagleAckMs) acknowledged();
      buffer = Buffer.concat([buffer, chunk]);
      const replies = process();
      if (options.replyDelayMs) setTimeout(() => send(replies), options.replyDelayMs);
      else send(replies);
    });
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    send(["220 scripted.customer.example ESMTP\r\n"]);
  };

  return {
    port: 0,
    messages,
    clients: [],
    commands,
    reads,
    get delayedAcks() {
      return delayedAcks;
    },
    serve,
    waitForMessages: (count, timeoutMs) => waiters.waitFor(count, timeoutMs),
    async close() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Reads that arrived with no reply written since the read before them (the provider wrote twice). */
export function readsWithoutReply(reads: Read[]): Read[] {
  return reads.filter((read, i) => i > 0 && read.repliesBefore === reads[i - 1].repliesBefore);
}
