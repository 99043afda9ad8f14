// The transcript of one ODMR session, for the login's owner and for staff ("what happened when my
// server connected?"): connect, STARTTLS, EHLO, each AUTH and its reply, the ATRN reply (RFC 2645
// §4.3), after the turn-around the customer's greeting and EHLO reply and each message's replies
// from the customer's server (RFC 5321 §4.2.5), and why the session ended.
//
// Bounded, because the other end writes into it: each line at most LINE_MAX characters, at most
// MAX_EVENTS events and MAX_BYTES in all, and before a successful AUTH at most PREAUTH_EVENTS (a
// password guesser repeating AUTH on one connection adds a count, not lines). What does not fit is
// counted in one closing note; the end of the session always fits.
import { z } from "zod";
import type { DeliveryOutcome } from "../queue/record-delivery-results.ts";

export const TRANSCRIPT_MAX_EVENTS = 300;
export const TRANSCRIPT_MAX_BYTES = 64 * 1024;
const PREAUTH_EVENTS = 20;
const LINE_MAX = 512;
/** room kept for the note about what was left out and for the end */
const RESERVED_EVENTS = 2;
const RESERVED_BYTES = 2 * (LINE_MAX + 64);

export const TRANSCRIPT_STEPS = ["connect", "tls", "ehlo", "auth", "atrn", "greeting", "hello", "message", "note", "end"] as const;
export type TranscriptStep = (typeof TRANSCRIPT_STEPS)[number];

export interface TranscriptEvent {
  /** milliseconds since the connection was accepted */
  at: number;
  step: TranscriptStep;
  text: string;
}

/** What the listener and the reversed session write to. */
export interface TranscriptSink {
  add(step: TranscriptStep, text: string): void;
}

function eventBytes(event: TranscriptEvent): number {
  return Buffer.byteLength(event.text) + 40;
}

export class Transcript implements TranscriptSink {
  private readonly events: TranscriptEvent[] = [];
  private bytes = 0;
  private omitted = 0;
  private authenticated = false;
  private preauthEvents = 0;
  private ended = false;

  constructor(private readonly startedAt = Date.now()) {}

  add(step: TranscriptStep, text: string): void {
    if (this.ended) return;
    const event: TranscriptEvent = {
      at: Date.now() - this.startedAt,
      step,
      text: text
        .slice(0, 2 * LINE_MAX)
        .replace(/\s+/g, " ")
        .trim()
        .slice(0, LINE_MAX),
    };
    if (step === "end") {
      this.ended = true;
      if (this.omitted > 0)
        this.push({ at: event.at, step: "note", text: `${this.omitted} more event${this.omitted === 1 ? "" : "s"} not recorded (the transcript is bounded)` });
      this.push(event);
      return;
    }
    const preauthFull = !this.authenticated && this.preauthEvents >= PREAUTH_EVENTS;
    const full = this.events.length >= TRANSCRIPT_MAX_EVENTS - RESERVED_EVENTS || this.bytes + eventBytes(event) > TRANSCRIPT_MAX_BYTES - RESERVED_BYTES;
    if (preauthFull || full) {
      this.omitted++;
      return;
    }
    if (!this.authenticated) this.preauthEvents++;
    this.push(event);
  }

  /** A successful AUTH: from here the pre-AUTH bound no longer applies. */
  markAuthenticated(): void {
    this.authenticated = true;
  }

  private push(event: TranscriptEvent): void {
    this.events.push(event);
    this.bytes += eventBytes(event);
  }

  /** How many events it holds; it only ever grows. */
  get length(): number {
    return this.events.length;
  }

  toJSON(): TranscriptEvent[] {
    return [...this.events];
  }
}

const eventSchema = z.object({ at: z.number(), step: z.enum(TRANSCRIPT_STEPS), text: z.string() });

/** A stored transcript (jsonb) as events; anything unreadable is left out rather than shown wrong. */
export function readTranscript(value: unknown): TranscriptEvent[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => {
    const parsed = eventSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

export interface MessageReply {
  recipient: string;
  outcome: DeliveryOutcome;
  /** the customer's reply ("250 2.0.0 Ok"), or our own reason when we did not offer the message */
  reply: string | null;
}

const OUTCOME_WORDS: Record<MessageReply["outcome"], string> = {
  delivered: "delivered",
  deferred: "kept held (temporary)",
  bounced: "bounced to the sender",
  held: "kept held (bounce protection)",
};

/**
 * One message's line: its queue id and sender, then each group of recipients that got the same
 * reply. E.g. `message 0A1B… from <a@x.example>: b@y.example → 250 2.0.0 Ok (delivered)`.
 */
export function messageLine(queueId: string, mailFrom: string, replies: MessageReply[]): string {
  const groups = new Map<string, string[]>();
  for (const r of replies) {
    const key = `${r.reply ?? "no reply"} (${OUTCOME_WORDS[r.outcome]})`;
    groups.set(key, [...(groups.get(key) ?? []), r.recipient]);
  }
  const parts = [...groups].map(([reply, recipients]) => `${recipients.join(", ")} → ${reply}`);
  return `message ${queueId} from <${mailFrom}>: ${parts.join("; ")}`;
}
