// Customers, domains and logins for the ODMR tests, made through the shared core as the CLI
// would, and held mail put into the queue through the MX's own durable intake (storeMessage).
import crypto from "node:crypto";
import { CLI_ACTOR } from "../../lib/actor.ts";
import { createCustomer } from "../../lib/customers/customers.ts";
import { createDomain } from "../../lib/domains/domains.ts";
import { createLogin } from "../../lib/logins/logins.ts";
import { storeMessage } from "../../lib/queue/store-message.ts";

export interface TestCustomer {
  id: string;
  name: string;
  login: string;
  secret: string;
  loginId: string;
  domains: Map<string, string>;
}

export async function makeCustomer(name: string, domainNames: string[], options: { retentionDays?: number } = {}): Promise<TestCustomer> {
  const customer = await createCustomer(CLI_ACTOR, { name });
  const domains = new Map<string, string>();
  for (const domain of domainNames) {
    const created = await createDomain(CLI_ACTOR, { customer: customer.id, name: domain, recipientPolicy: "accept_all", retentionDays: options.retentionDays });
    domains.set(domain, created.id);
  }
  const secret = `s3cret-${crypto.randomBytes(6).toString("hex")}`;
  const login = name.toLowerCase().replace(/[^a-z0-9]/g, "");
  const created = await createLogin(CLI_ACTOR, { customer: customer.id, login, secret });
  return { id: customer.id, name, login, secret, loginId: created.login.id, domains };
}

export function testMessage(subject: string, body = "Hello from the test suite.\r\n", extraHeaders = ""): Buffer {
  return Buffer.from(
    `From: Sender <sender@origin.example>\r\nTo: someone@customer.example\r\nSubject: ${subject}\r\n` +
    `Message-ID: <${crypto.randomUUID()}@origin.example>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n${extraHeaders}\r\n${body}`);
}

/** Holds one message for the given recipients (addresses in the customers' domains). */
export async function holdMessage(recipients: { address: string; customer: TestCustomer }[], raw: Buffer, mailFrom = "sender@origin.example"): Promise<string> {
  return storeMessage({
    mailFrom, raw,
    recipients: recipients.map(({ address, customer }) => {
      const domainId = customer.domains.get(address.slice(address.lastIndexOf("@") + 1));
      if (!domainId) throw new Error(`${address} is not in a domain of ${customer.name}`);
      return { address, domainId, customerId: customer.id };
    }),
  });
}
