"use server";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";
import { z } from "zod";
import { runAction, type ActionResult } from "@/app/_server/action-result.ts";
import type { StaffActor } from "@/app/_server/auth.ts";
import { flash } from "@/app/_server/flash.ts";
import { checked, parseForm } from "@/app/_server/form-data.ts";
import { createDomain, deleteDomain, updateDomain } from "@/lib/domains/domains.ts";
import { MailharborError } from "@/lib/errors.ts";
import { splitRecipientText } from "@/lib/recipients/recipients-csv.ts";
import { addRecipients, removeRecipient, removeRecipients } from "@/lib/recipients/recipients.ts";
import { unicodeDomainName } from "@/lib/validation/domain-name.ts";
import { domainNameSchema, retentionDaysSchema, uuidSchema } from "@/lib/validation/schemas.ts";

const idSchema = z.object({ id: uuidSchema });
/** The form asks for megabytes; the core stores bytes. */
const sizeMbSchema = z.coerce
  .number({ message: "a number of megabytes" })
  .positive("more than 0 MB")
  .max(512, "at most 512 MB")
  .transform((mb) => Math.round(mb * 1024 * 1024));
/** Uploads larger than this are refused before reading: a recipient list is text. */
const MAX_UPLOAD = 5 * 1024 * 1024;

export async function createDomainAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  let id = "";
  const result = await runAction<StaffActor>("staff", async (actor) => {
    const data = parseForm(
      z.object({
        customerId: uuidSchema,
        name: domainNameSchema,
        recipientPolicy: z.enum(["listed", "accept_all"]),
        retentionDays: retentionDaysSchema,
        maxMessageSizeMb: sizeMbSchema,
        recipients: z.string().optional(),
      }),
      form,
    );
    // blank lines stay in, so a refused line is reported by its line in the box
    const recipients = data.recipients ? splitRecipientText(data.recipients) : undefined;
    const domain = await createDomain(actor, {
      customer: data.customerId,
      name: data.name,
      recipientPolicy: data.recipientPolicy,
      retentionDays: data.retentionDays,
      maxMessageSize: data.maxMessageSizeMb,
      recipients,
    });
    id = domain.id;
    await flash(`Domain ${unicodeDomainName(domain.name)} added.`);
  });
  if (result.ok) redirect(`/staff/domains/${id}`);
  return result;
}

const settingsSchema = idSchema.extend({
  recipientPolicy: z.enum(["listed", "accept_all"]),
  recipientDelimiter: z.string().optional(),
  retentionDays: retentionDaysSchema,
  maxMessageSizeMb: sizeMbSchema,
  etrnTarget: z.string().trim().optional(),
  etrnTls: z.enum(["opportunistic", "required", "none"]),
  etrnFrom: z.string().optional(),
  /** empty or "off": no bounce protection */
  bounceProtection: z.string().trim().optional(),
});

export async function updateDomainAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const data = parseForm(settingsSchema, form);
    await updateDomain(actor, data.id, {
      recipientPolicy: data.recipientPolicy,
      recipientDelimiter: data.recipientDelimiter ?? "",
      retentionDays: data.retentionDays,
      maxMessageSize: data.maxMessageSizeMb,
      acceptInbound: checked(form, "acceptInbound"),
      atrnEnabled: checked(form, "atrnEnabled"),
      etrnEnabled: checked(form, "etrnEnabled"),
      etrnTarget: data.etrnTarget || null,
      etrnTls: data.etrnTls,
      etrnFrom: (data.etrnFrom ?? "").split(/[\s,]+/).filter(Boolean),
      bounceProtectionPercent: !data.bounceProtection || data.bounceProtection === "off" ? null : Number(data.bounceProtection),
    });
    revalidatePath(`/staff/domains/${data.id}`);
    return { message: "Settings saved." };
  });
}

/** "Deliver now": the mailer sends the held mail to the domain's ETRN target within seconds. */
export async function deleteDomainAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  const result = await runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(idSchema, form);
    const { name } = await deleteDomain(actor, id);
    await flash(`Domain ${unicodeDomainName(name)} deleted.`);
  });
  if (result.ok) redirect("/staff/domains");
  return result;
}

/** Adds recipients typed or pasted (one per line or CSV) and from an uploaded file, with a report per line. */
export async function addRecipientsAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(idSchema, form);
    const typed = String(form.get("recipients") ?? "");
    const file = form.get("file");
    let uploaded = "";
    if (file instanceof File && file.size > 0) {
      if (file.size > MAX_UPLOAD) throw new MailharborError("INVALID_INPUT", "file: the file is larger than 5 MB", { field: "file" });
      uploaded = await file.text();
    }
    const typedLines = typed.trim() ? splitRecipientText(typed) : [];
    const lines = [...typedLines, ...(uploaded.trim() ? splitRecipientText(uploaded) : [])];
    if (!lines.some((l) => l.trim()))
      throw new MailharborError("INVALID_INPUT", "recipients: type or paste addresses, or choose a file", { field: "recipients" });
    const report = await addRecipients(actor, id, lines);
    revalidatePath(`/staff/domains/${id}`);
    return {
      message: report.rejected.length
        ? "Some lines were not added; see below."
        : report.added.length
          ? "Recipients added."
          : "Nothing new to add: every address is already listed.",
      report: {
        added: report.added.length,
        existing: report.existing.length,
        rejected: report.rejected.map((r) => ({
          where: r.line <= typedLines.length ? `line ${r.line}` : `file line ${r.line - typedLines.length}`,
          input: r.input,
          reason: r.reason,
        })),
      },
    };
  });
}

export async function removeRecipientAction(_: ActionResult | null, form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const data = parseForm(idSchema.extend({ address: z.string().min(1) }), form);
    await removeRecipient(actor, data.id, data.address);
    revalidatePath(`/staff/domains/${data.id}`);
    return { message: `${data.address} removed.` };
  });
}

/** "Remove selected" on the recipient list: the ticked addresses (`addresses`, repeated), in one transaction. */
export async function removeRecipientsAction(form: FormData): Promise<ActionResult> {
  return runAction<StaffActor>("staff", async (actor) => {
    const { id } = parseForm(idSchema, form);
    const addresses = form.getAll("addresses").filter((v): v is string => typeof v === "string" && v.trim() !== "");
    if (!addresses.length) throw new MailharborError("INVALID_INPUT", "tick the recipients to remove first");
    const { removed, missing } = await removeRecipients(actor, id, addresses);
    revalidatePath(`/staff/domains/${id}`);
    return {
      message: `Removed ${removed.length} recipient${removed.length === 1 ? "" : "s"}${missing.length ? `; ${missing.length} ${missing.length === 1 ? "was" : "were"} no longer listed` : ""}.`,
    };
  });
}
