import type { Metadata } from "next";
import { withPage } from "@/app/_server/auth.ts";
import { NotificationLog, NotificationSettingsForm } from "@/app/_ui/notification-panels.tsx";
import { Card, PageHeader } from "@/app/_ui/page-header.tsx";
import { getConfig } from "@/lib/config/config.ts";
import { getNotificationSettings, listNotificationDeliveries, listNotifications } from "@/lib/notifications/notification-settings.ts";

export const metadata: Metadata = { title: "Notifications" };

export default withPage("customer", async function MyNotifications(actor) {
  const [settings, notifications, deliveries] = await Promise.all([
    getNotificationSettings(actor, actor.customerId),
    listNotifications(actor, actor.customerId),
    listNotificationDeliveries(actor, actor.customerId),
  ]);
  return (
    <>
      <PageHeader title="Notifications" description="How we tell you that mail piles up, is about to expire, or that your server refused most of it." />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Settings">
          <NotificationSettingsForm settings={settings} smarthost={Boolean(getConfig().SMARTHOST)} />
        </Card>
        <Card title="Sent to you">
          <NotificationLog notifications={notifications} deliveries={deliveries} />
        </Card>
      </div>
    </>
  );
});
