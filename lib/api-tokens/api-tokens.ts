// Bearer tokens for the HTTP API. Staff (portal) and the CLI create them; each has scopes and
// optionally one customer. The token is shown once and only its SHA-256 is stored: the token is
// 40 random characters (about 230 bits), so a fast hash is enough — there is nothing to guess
// that a slow hash would protect (unlike a password). The `mh_` prefix lets secret scanners and
// people grep for leaked tokens.
import crypto from "node:crypto";
import { z } from "zod";
import type { Actor } from "../actor.ts";
import { requireOperator } from "../actor.ts";
import { recordAuditEvent } from "../audit/record-audit-event.ts";
import { generateSecret } from "../auth/generate-secret.ts";
import { getCustomer } from "../customers/customers.ts";
import { dbWork, getDb } from "../db/client.ts";
import { MailharborError } from "../errors.ts";
import { parseInput } from "../validation/parse-input.ts";
import { uuidSchema } from "../validation/schemas.ts";

/** read: every GET; provision: changes to customers, logins, domains, recipients; queue: deliver-now. */
export const API_SCOPES = ["read", "provision", "queue"] as const;
export type ApiScopeName = (typeof API_SCOPES)[number];

export const API_TOKEN_PREFIX = "mh_";
const TOKEN_BODY_LENGTH = 40;
/** What a token looks like; anything else is refused before the database is asked. */
export const API_TOKEN_PATTERN = /^mh_[A-Za-z0-9]{40}$/;
/** how much of the token a listing shows */
const SHOWN_PREFIX_LENGTH = API_TOKEN_PREFIX.length + 8;

export const apiTokenNameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "1-64 of letters, digits and . _ -, starting with a letter or digit");

const createSchema = z.object({
  name: apiTokenNameSchema,
  scopes: z
    .array(z.enum(API_SCOPES, { message: `scopes are ${API_SCOPES.join(", ")}` }))
    .min(1, `give at least one scope (${API_SCOPES.join(", ")})`)
    .transform((scopes) => [...new Set(scopes)]),
  /** id or name; none: the token acts for the ISP */
  customer: z.string().trim().min(1).nullish(),
});

export function hashApiToken(token: string): string {
  return crypto.createHash("sha256").update(token, "utf8").digest("hex");
}

/** The columns a listing or an answer may show: never the hash. */
const PUBLIC_FIELDS = {
  id: true,
  name: true,
  prefix: true,
  scopes: true,
  customerId: true,
  createdBy: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  customer: { select: { id: true, name: true } },
} as const;

/** Creates a token; returns it in clear, which is never possible again. */
export async function createApiToken(actor: Actor, input: { name: string; scopes: string[]; customer?: string | null }) {
  requireOperator(actor);
  const data = parseInput(createSchema, input);
  const customer = data.customer ? await getCustomer(actor, data.customer) : null;
  const secret = `${API_TOKEN_PREFIX}${generateSecret(TOKEN_BODY_LENGTH)}`;
  const token = await dbWork(() =>
    getDb().$transaction(async (tx) => {
      if (await tx.apiToken.findUnique({ where: { name: data.name }, select: { id: true } })) {
        throw new MailharborError("CONFLICT", `an API token named "${data.name}" exists (names are never reused)`);
      }
      const created = await tx.apiToken.create({
        data: {
          name: data.name,
          tokenHash: hashApiToken(secret),
          prefix: secret.slice(0, SHOWN_PREFIX_LENGTH),
          scopes: data.scopes,
          customerId: customer?.id ?? null,
          createdBy: actor.label,
        },
        select: PUBLIC_FIELDS,
      });
      await recordAuditEvent(tx, actor, {
        action: "api_token.create",
        objectType: "api_token",
        objectId: created.id,
        customerId: created.customerId,
        details: { name: created.name, scopes: created.scopes, customer: customer?.name ?? null },
      });
      return created;
    }),
  );
  return { token, secret };
}

/** Every token, the live ones first; revoked ones stay listed so their audit rows keep a meaning. */
export async function listApiTokens(actor: Actor) {
  requireOperator(actor);
  return dbWork(() =>
    getDb().apiToken.findMany({
      orderBy: [{ revokedAt: { sort: "desc", nulls: "first" } }, { name: "asc" }],
      select: PUBLIC_FIELDS,
    }),
  );
}

/** A token by id or name; NOT_FOUND otherwise. */
export async function getApiToken(actor: Actor, ref: string) {
  requireOperator(actor);
  const match = uuidSchema.safeParse(ref).success ? { id: ref } : { name: ref.trim() };
  const token = await dbWork(() => getDb().apiToken.findFirst({ where: match, select: PUBLIC_FIELDS }));
  if (!token) throw new MailharborError("NOT_FOUND", `no API token "${ref}"`);
  return token;
}

/** Revoking is for good: the next call with the token gets 401. Revoking twice is not an error. */
export async function revokeApiToken(actor: Actor, ref: string) {
  const token = await getApiToken(actor, ref);
  if (token.revokedAt) return token;
  return dbWork(() =>
    getDb().$transaction(async (tx) => {
      const revoked = await tx.apiToken.update({ where: { id: token.id }, data: { revokedAt: new Date() }, select: PUBLIC_FIELDS });
      await recordAuditEvent(tx, actor, {
        action: "api_token.revoke",
        objectType: "api_token",
        objectId: token.id,
        customerId: token.customerId,
        details: { name: token.name },
      });
      return revoked;
    }),
  );
}
