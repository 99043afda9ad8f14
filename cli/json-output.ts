// What `mailharbor … --json` prints: one projection per kind of object, so a billing script reads
// the same fields whatever the core's rows carry (a new column never leaks into the output, a
// renamed one is caught by test/integration/cli-json.test.ts). Dates are ISO 8601 strings in the
// JSON. The README's CLI section documents these shapes.
import { deliveryView } from "../lib/queue/search-queue.ts";

/** A customer (`customer add`, `customer suspend`, `customer resume`, and each item of `customer list`). */
export interface CustomerJson {
  id: string;
  name: string;
  email: string | null;
  status: "active" | "suspended";
  createdAt: Date;
}

export function customerJson(c: CustomerJson): CustomerJson {
  return { id: c.id, name: c.name, email: c.email, status: c.status, createdAt: c.createdAt };
}

export interface CustomerListJson {
  total: number;
  items: (CustomerJson & { domains: number; logins: number })[];
}

export function customerListJson(list: { total: number; items: (CustomerJson & { _count: { domains: number; logins: number } })[] }): CustomerListJson {
  return { total: list.total, items: list.items.map((c) => ({ ...customerJson(c), domains: c._count.domains, logins: c._count.logins })) };
}

/** A login as one command changed it (`login disable`, `login enable`). */
export function loginStatusJson(l: { id: string; login: string; status: "active" | "disabled" }) {
  return { id: l.id, login: l.login, status: l.status };
}

export function loginCreatedJson(l: { id: string; login: string; customerId: string }, secret: string) {
  return { id: l.id, login: l.login, customerId: l.customerId, secret };
}

export function loginRotatedJson(r: { login: string; secret: string; oldSecretsExpireAt: Date }) {
  return { login: r.login, secret: r.secret, oldSecretsExpireAt: r.oldSecretsExpireAt };
}

export function loginRestrictedJson(login: string, domains: string[] | null) {
  return { login, domains };
}

export function loginListJson(
  logins: {
    id: string;
    login: string;
    customer: { name: string };
    status: "active" | "disabled";
    lastUsedAt: Date | null;
    lastUsedIp: string | null;
    allDomains: boolean;
    domains: { domain: { name: string } }[];
  }[],
) {
  return logins.map((l) => ({
    id: l.id,
    login: l.login,
    customer: l.customer.name,
    status: l.status,
    lastUsedAt: l.lastUsedAt,
    lastUsedIp: l.lastUsedIp,
    domains: l.allDomains ? ("all" as const) : l.domains.map((d) => d.domain.name),
  }));
}

interface DomainRow {
  id: string;
  name: string;
  customerId: string;
  recipientPolicy: "listed" | "accept_all";
  retentionDays: number;
  maxMessageSize: number;
  acceptInbound: boolean;
  atrnEnabled: boolean;
  etrnEnabled: boolean;
  etrnTarget: string | null;
  etrnTls: "opportunistic" | "required" | "none";
  etrnFrom: string[];
  recipientDelimiter: string;
  bounceProtectionPercent: number | null;
  bounceHeldAt: Date | null;
  createdAt: Date;
}

/** A domain's settings (`domain add`, `domain set`). */
export function domainJson(d: DomainRow) {
  return {
    id: d.id,
    name: d.name,
    customerId: d.customerId,
    recipientPolicy: d.recipientPolicy,
    retentionDays: d.retentionDays,
    maxMessageSize: d.maxMessageSize,
    acceptInbound: d.acceptInbound,
    atrnEnabled: d.atrnEnabled,
    etrnEnabled: d.etrnEnabled,
    etrnTarget: d.etrnTarget,
    etrnTls: d.etrnTls,
    etrnFrom: d.etrnFrom,
    recipientDelimiter: d.recipientDelimiter,
    bounceProtectionPercent: d.bounceProtectionPercent,
    bounceHeldAt: d.bounceHeldAt,
    createdAt: d.createdAt,
  };
}

/** Each item of `domain list`: the settings, its customer's name and what it holds now. */
export function domainListJson(domains: (DomainRow & { customer: { name: string }; held: number; _count: { recipients: number } })[]) {
  return domains.map((d) => ({ ...domainJson(d), customer: d.customer.name, recipients: d._count.recipients, held: d.held }));
}

export function releaseJson(r: { domainId: string; domain: string; requestedAt: Date }) {
  return { domainId: r.domainId, domain: r.domain, requestedAt: r.requestedAt };
}

export function recipientsAddedJson(r: { added: string[]; existing: string[]; rejected: { line: number; input: string; reason: string }[] }) {
  return { added: r.added, existing: r.existing, rejected: r.rejected };
}

export function userCreatedJson(u: { id: string; email: string; role: "staff" | "customer"; customerId: string | null }, password: string | undefined) {
  return { id: u.id, email: u.email, role: u.role, customerId: u.customerId, ...(password === undefined ? {} : { password }) };
}

/** `domain hold`: what ending a bounce-protection hold did. */
export function bounceHoldJson(h: { domain: string; action: "bounce" | "retry"; deliveries: number; dsns: number }) {
  return { domain: h.domain, action: h.action, deliveries: h.deliveries, dsns: h.dsns };
}

/** `user reset-password`: the new one-time password, shown once. */
export function passwordResetJson(u: { id: string; email: string }, password: string) {
  return { id: u.id, email: u.email, password };
}

/** `user reset-2fa`. */
export function twoFactorResetJson(email: string) {
  return { email, twoFactor: false };
}

export function tokenCreatedJson(t: { id: string; name: string; scopes: string[]; customerId: string | null }, token: string) {
  return { id: t.id, name: t.name, scopes: t.scopes, customerId: t.customerId, token };
}

export function tokenListJson(
  tokens: {
    id: string;
    name: string;
    prefix: string;
    scopes: string[];
    customer: { name: string } | null;
    createdAt: Date;
    lastUsedAt: Date | null;
    revokedAt: Date | null;
  }[],
) {
  return tokens.map((t) => ({
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    scopes: t.scopes,
    customer: t.customer?.name ?? null,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  }));
}

export function tokenRevokedJson(t: { id: string; name: string; revokedAt: Date | null }) {
  return { id: t.id, name: t.name, revokedAt: t.revokedAt };
}

export function queueListJson(page: {
  count: number;
  items: {
    id: string;
    mailFrom: string;
    size: number;
    receivedAt: Date;
    fromHeader: string | null;
    subject: string | null;
    expiresAt: Date | null;
    deliveries: Parameters<typeof deliveryView>[0][];
  }[];
}) {
  return {
    total: page.count,
    items: page.items.map((m) => ({
      id: m.id,
      mailFrom: m.mailFrom,
      size: m.size,
      receivedAt: m.receivedAt,
      fromHeader: m.fromHeader,
      subject: m.subject,
      expiresAt: m.expiresAt,
      deliveries: m.deliveries.map(deliveryView),
    })),
  };
}
