import type { Metadata } from "next";
import Link from "next/link";
import { createUserAction, setUserDisabledAction } from "./actions.ts";
import { withPage } from "@/app/_server/auth.ts";
import { ActionForm } from "@/app/_ui/action-form.tsx";
import { Field, Select } from "@/app/_ui/field.tsx";
import { formatTime } from "@/app/_ui/format.ts";
import { Badge, Card, PageHeader, TableWrap } from "@/app/_ui/page-header.tsx";
import { SubmitButton } from "@/app/_ui/submit-button.tsx";
import { listCustomers } from "@/lib/customers/customers.ts";
import { listPortalUsers } from "@/lib/users/users.ts";

export const metadata: Metadata = { title: "Portal users" };

export default withPage("staff", async function UsersPage(actor) {
  const [users, customers] = await Promise.all([listPortalUsers(actor), listCustomers(actor, { take: 500 })]);
  return (
    <>
      <PageHeader title="Portal users" description="ISP staff, and customers' own administrators." />
      <div className="grid gap-6 lg:grid-cols-[1fr_20rem]">
        <Card>
          <TableWrap label="Portal users">
            <table>
              <thead>
                <tr>
                  <th>E-mail</th>
                  <th>Role</th>
                  <th>Customer</th>
                  <th>Last login</th>
                  <th>
                    <span className="sr-only">Access</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={u.id}>
                    <td className="break-all">
                      <Link href={`/staff/users/${u.id}`}>{u.email}</Link>
                      {u.disabled ? (
                        <>
                          {" "}
                          <Badge>disabled</Badge>
                        </>
                      ) : null}
                    </td>
                    <td>
                      <Badge tone={u.role === "staff" ? "sky" : "slate"}>{u.role}</Badge>
                    </td>
                    <td>{u.customer ? <Link href={`/staff/customers/${u.customer.id}`}>{u.customer.name}</Link> : "—"}</td>
                    <td>{formatTime(u.lastLoginAt)}</td>
                    <td className="text-right">
                      {u.id === actor.id ? null : (
                        <ActionForm
                          action={setUserDisabledAction}
                          className=""
                          confirm={u.disabled ? undefined : `Disable ${u.email}? They are logged out at once.`}
                        >
                          <input type="hidden" name="id" value={u.id} />
                          <input type="hidden" name="disabled" value={u.disabled ? "no" : "yes"} />
                          <button type="submit" className="text-sm text-sky-700 hover:underline" aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.email}`}>
                            {u.disabled ? "Enable" : "Disable"}
                          </button>
                        </ActionForm>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </Card>
        <Card title="New user">
          <ActionForm action={createUserAction} resetOnSuccess label="New user">
            <Field label="E-mail" name="email" type="email" required />
            {/* no role is preselected: staff may do everything, so it is never a default */}
            <Select
              label="Role"
              name="role"
              defaultValue=""
              required
              options={[
                { value: "", label: "— choose —" },
                { value: "customer", label: "Customer administrator" },
                { value: "staff", label: "ISP staff" },
              ]}
            />
            <Select
              label="Customer"
              name="customerId"
              hint="For a customer administrator: the customer whose mail they see. Leave it at none for staff."
              options={[{ value: "", label: "— none (staff) —" }, ...customers.items.map((c) => ({ value: c.id, label: c.name }))]}
            />
            <SubmitButton>Create user</SubmitButton>
          </ActionForm>
        </Card>
      </div>
    </>
  );
});
