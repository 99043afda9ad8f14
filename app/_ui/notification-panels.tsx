// Notification settings and what was sent (lib/notifications), for the staff customer page and the
// customer's own settings page: the same form and log, the core decides whose.
import { ActionForm } from "./action-form.tsx";
import { Checkbox, Field } from "./field.tsx";
import { formatTime } from "./format.ts";
import { Empty, StateBadge, TableWrap } from "./page-header.tsx";
import { SubmitButton } from "./submit-button.tsx";
import { updateNotificationSettingsAction } from "@/app/_actions/update-notification-settings.ts";
import type { NotificationSettingsView } from "@/lib/notifications/notification-settings.ts";
import type { listNotificationDeliveries, listNotifications } from "@/lib/notifications/notification-settings.ts";

export function NotificationSettingsForm({ settings, smarthost }: { settings: NotificationSettingsView; smarthost: boolean }) {
  return (
    <ActionForm action={updateNotificationSettingsAction} label="Notification settings">
      <input type="hidden" name="customerId" value={settings.customerId} />
      <Field
        label="Contact e-mail"
        name="email"
        type="email"
        defaultValue={settings.email ?? ""}
        hint={smarthost ? "Notifications are e-mailed here." : "No outgoing mail relay is configured: notifications are shown on this page only."}
      />
      <Field
        label="Webhook URL"
        name="webhookUrl"
        type="url"
        defaultValue={settings.webhookUrl ?? ""}
        placeholder="https://ops.example.com/mailharbor"
        hint="JSON POSTs signed with HMAC-SHA256 (Mailharbor-Signature header). A signing secret is shown once when you first set a URL."
      />
      {settings.hasWebhookSecret ? <Checkbox label="Make a new signing secret" name="regenerateSecret" hint="The old secret stops working at once." /> : null}
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <Field label="Not collected for (hours)" name="uncollectedHours" type="number" min={1} max={8760} defaultValue={settings.uncollectedHours} required />
        <Field label="Expiring within (days)" name="expiryWarningDays" type="number" min={1} max={365} defaultValue={settings.expiryWarningDays} required />
        <Field label="Held deliveries above" name="heldCountLimit" type="number" min={1} defaultValue={settings.heldCountLimit ?? ""} hint="Empty: no limit." />
        <Field label="Held megabytes above" name="heldMbLimit" type="number" min={1} defaultValue={settings.heldMbLimit ?? ""} hint="Empty: no limit." />
      </div>
      <SubmitButton>Save notification settings</SubmitButton>
    </ActionForm>
  );
}

type Deliveries = Awaited<ReturnType<typeof listNotificationDeliveries>>;
type Notifications = Awaited<ReturnType<typeof listNotifications>>;

export function NotificationLog({ notifications, deliveries }: { notifications: Notifications; deliveries: Deliveries }) {
  return (
    <div className="space-y-5">
      {notifications.length === 0 ? (
        <Empty>Nothing to report so far.</Empty>
      ) : (
        <TableWrap label="Notifications">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Notification</th>
                <th>Still so</th>
              </tr>
            </thead>
            <tbody>
              {notifications.map((n) => (
                <tr key={n.id}>
                  <td className="whitespace-nowrap">{formatTime(n.createdAt)}</td>
                  <td>
                    <div className="font-medium">{n.subject}</div>
                    <div className="text-xs whitespace-pre-line text-slate-600">{n.text}</div>
                  </td>
                  <td>{n.episode && !n.episode.closedAt ? "yes" : "cleared"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <h3 className="text-sm font-semibold">Delivery log</h3>
      {deliveries.length === 0 ? (
        <Empty>Nothing was sent (no e-mail relay or webhook configured, or nothing to report).</Empty>
      ) : (
        <TableWrap label="Notification delivery log">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>To</th>
                <th>State</th>
                <th>Attempts</th>
                <th>Last answer</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id}>
                  <td className="whitespace-nowrap">
                    {formatTime(d.createdAt)}
                    <div className="text-xs text-slate-500">{d.notification.subject}</div>
                  </td>
                  <td className="break-all">
                    {d.channel}: {d.target}
                  </td>
                  <td>
                    <StateBadge state={d.state} />
                    {d.state === "pending" && d.attempts > 0 ? <div className="text-xs text-slate-500">next try {formatTime(d.nextAttemptAt)}</div> : null}
                  </td>
                  <td className="text-right">{d.attempts}</td>
                  <td className="break-all">
                    {d.lastStatus ?? ""} {d.lastError ?? (d.sentAt ? `sent ${formatTime(d.sentAt)}` : "")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </div>
  );
}
