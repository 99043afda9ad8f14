import { createDomainAction } from "./actions.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { Field, Select, TextArea } from "@/app/_ui/field.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";

/** Adds a domain for one given customer, or for one chosen from a list. */
export function DomainCreateForm({ customerId, customers }: { customerId?: string; customers?: { id: string; name: string }[] }) {
  return (
    <ActionForm action={createDomainAction} label="Add a domain">
      {customerId ? (
        <input type="hidden" name="customerId" value={customerId} />
      ) : (
        <Select
          label="Customer"
          name="customerId"
          required
          options={[{ value: "", label: "— choose —" }, ...(customers ?? []).map((c) => ({ value: c.id, label: c.name }))]}
        />
      )}
      <Field
        label="Domain name"
        name="name"
        required
        placeholder="example.com"
        hint="At least two labels; international names are stored in their ASCII form."
      />
      <Select
        label="Recipients"
        name="recipientPolicy"
        defaultValue="listed"
        options={[
          { value: "listed", label: "Listed recipients only" },
          { value: "accept_all", label: "Accept every address" },
        ]}
      />
      <div className="grid grid-cols-2 gap-3">
        <Field label="Retention (days)" name="retentionDays" type="number" min={1} max={3650} defaultValue={30} required />
        <Field label="Size limit (MB)" name="maxMessageSizeMb" type="number" min={1} max={512} step="any" defaultValue={25} required />
      </div>
      <TextArea label="Recipients to list" name="recipients" rows={3} hint="Optional: one address per line (or a bare local part)." />
      <SubmitButton>Add domain</SubmitButton>
    </ActionForm>
  );
}
