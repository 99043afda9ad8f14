// zod schemas shared by the portal's forms, the CLI and the core.
import { z } from "zod";
import { parseAddress } from "./address.ts";
import { normalizeDomainName } from "./domain-name.ts";
import { normalizeLoginName } from "./login-name.ts";
import { passwordProblem } from "../auth/password-policy.ts";

export const domainNameSchema = z.string().transform((value, ctx) => {
  const name = normalizeDomainName(value);
  if (!name) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a valid domain name (at least two labels, letters, digits and hyphens)` });
    return z.NEVER;
  }
  return name;
});

export const loginNameSchema = z.string().transform((value, ctx) => {
  const name = normalizeLoginName(value);
  if (!name) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a valid login name (1-64 of letters, digits and . _ @ + -, starting with a letter or digit)` });
    return z.NEVER;
  }
  return name;
});

export const addressSchema = z.string().transform((value, ctx) => {
  const parsed = parseAddress(value, { utf8: true });
  if (!parsed) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a valid e-mail address` });
    return z.NEVER;
  }
  return parsed.address;
});

export const emailSchema = z.string().trim().toLowerCase().pipe(addressSchema);

export const customerNameSchema = z.string().trim().min(1, "a name is required").max(200, "at most 200 characters");

/** A portal password: the policy of lib/auth/password-policy.ts. */
export const passwordSchema = z.string().superRefine((value, ctx) => {
  const problem = passwordProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** An ODMR secret: CRAM-MD5 needs it in clear at our end, so it is printable ASCII. */
export const odmrSecretSchema = z
  .string()
  .min(12, "at least 12 characters")
  .max(256, "at most 256 characters")
  .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces");

export const retentionDaysSchema = z.coerce.number().int("a whole number of days").min(1, "at least 1 day").max(3650, "at most 3650 days");

export const maxMessageSizeSchema = z.coerce
  .number()
  .int()
  .min(1024, "at least 1024 bytes")
  .max(512 * 1024 * 1024, "at most 512 MB");

export const uuidSchema = z.string().uuid("not a valid id");

/** The characters a domain may use as recipient delimiters (joe+news@, joe-news@ …). */
export const RECIPIENT_DELIMITER_CHARACTERS = "+-_=.";

/** A domain's recipient delimiter: empty (none), or distinct characters from RECIPIENT_DELIMITER_CHARACTERS. */
export const recipientDelimiterSchema = z
  .string()
  .trim()
  .refine((v) => [...v].every((c) => RECIPIENT_DELIMITER_CHARACTERS.includes(c)), `only the characters ${RECIPIENT_DELIMITER_CHARACTERS} (or empty for none)`)
  .transform((v) => [...new Set(v)].join(""));
