// The test fixtures: customers with their domains and ODMR login, made through the shared core as
// the CLI would; held mail put into the queue through the MX's own durable intake (storeMessage), or in bulk
// straight into the tables; and the actors tests act as (staff, or a customer's portal user).
import crypto from "node:crypto";
import { CLI_ACTOR, type Actor } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { getDb } from "../../lib/db/client.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { createLogin } from "../../lib/logins/logins.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";

export interface TestCustomer {
  id: string;
  name: string;
  login: string;
  secret: string;
  loginId: string;
  /** domain name → id */
  domains: Map<string, string>;
}

/** A domain: its name (accepting every recipient), or the domain's settings as `createDomain` takes them. */
export type TestDomain = string | Omit<Parameters<typeof createDomain>[1], "customer">;

/**
 * A customer with its domains and one ODMR login (`login`, or named after the customer: "Alpha" →
 * "alpha"; a fresh secret); `retentionDays` for the domains given by name.
 */
export async function makeCustomer(name: string, domains: TestDomain[], options: { retentionDays?: number; login?: string } = {}): Promise<TestCustomer> {
  const customer = await createCustomer(CLI_ACTOR, { name });
  const ids = new Map<string, string>();
  for (const domain of domains) {
    const settings = typeof domain === "string" ? { name: domain, recipientPolicy: "accept_all" as const, retentionDays: options.retentionDays } : domain;
    const created = await createDomain(CLI_ACTOR, { customer: customer.id, ...settings });
    ids.set(created.name, created.id);
  }
  const secret = `s3cret-${crypto.randomBytes(6).toString("hex")}`;
  const login = options.login ?? name.toLowerCase().replace(/[^a-z0-9]/g, "");
  const created = await createLogin(CLI_ACTOR, { customer: customer.id, login, secret });
  return { id: customer.id, name, login, secret, loginId: created.login.id, domains: ids };
}

/** The id of one of the customer's domains. */
export function domainId(customer: TestCustomer, name: string): string {
  const id = customer.domains.get(name);
  if (!id) throw new Error(`${name} is not a domain of ${customer.name}`);
  return id;
}

export function testMessage(subject: string, body = "Hello from the test suite.\r\n", extraHeaders = ""): Buffer {
  return Buffer.from(
    `From: Sender <sender@origin.example>\r\nTo: someone@customer.example\r\nSubject: ${subject}\r\n` +
      `Message-ID: <${crypto.randomUUID()}@origin.example>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n${extraHeaders}\r\n${body}`,
  );
}

/**
 * Holds one message for the given recipients (addresses in the customers' domains); `summary`: the
 * header fields the MX would have read from it (what the lists show).
 */
export async function holdMessage(
  recipients: { address: string; customer: TestCustomer }[],
  raw: Buffer,
  mailFrom = "sender@origin.example",
  summary?: { subject?: string },
): Promise<string> {
  return storeMessage({
    mailFrom,
    raw,
    summary,
    recipients: recipients.map(({ address, customer }) => ({
      address,
      domainId: domainId(customer, address.slice(address.lastIndexOf("@") + 1)),
      customerId: customer.id,
    })),
  });
}

/**
 * Held mail straight into the tables (storeMessage per message would take minutes for this many),
 * a message's recipients together as storeMessage writes them: `messages` of `recipientsEach`
 * recipients r1@domain, r2@domain …, with ids `idPrefix` + the message's number, 16 characters.
 * Returns the ids in order.
 */
export async function bulkHold(customer: TestCustomer, domain: string, messages: number, recipientsEach: number, idPrefix = "BULK"): Promise<string[]> {
  const db = getDb();
  const digits = 16 - idPrefix.length;
  await db.$executeRaw`
    INSERT INTO message (id, mail_from, size) SELECT ${idPrefix} || lpad(i::text, ${digits}::int, '0'), 's@x.example', 1000 FROM generate_series(1, ${messages}::int) i`;
  await db.$executeRaw`
    INSERT INTO delivery (message_id, domain_id, customer_id, recipient)
    SELECT ${idPrefix} || lpad(i::text, ${digits}::int, '0'), ${domainId(customer, domain)}::uuid, ${customer.id}::uuid, 'r' || r || '@' || ${domain}
    FROM generate_series(1, ${messages}::int) i, generate_series(1, ${recipientsEach}::int) r ORDER BY i, r`;
  await db.$executeRaw`ANALYZE delivery`;
  return Array.from({ length: messages }, (_, i) => idPrefix + String(i + 1).padStart(digits, "0"));
}

/** ISP staff, as a signed-in portal user. */
export const STAFF_ACTOR: Actor = { type: "staff", id: "00000000-0000-0000-0000-0000000000aa", label: "ops@isp.example" };

/** A portal user of the customer (`label`: how the audit trail names it). */
export function customerActor(customer: { id: string; name: string }, label = `${customer.name} user`): Actor {
  return { type: "customer", id: crypto.randomUUID(), label, customerId: customer.id };
}
