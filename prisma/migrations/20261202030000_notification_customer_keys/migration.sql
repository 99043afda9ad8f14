-- A deleted customer takes its notifications, episodes and delivery log with it (staff ones have
-- no customer and stay). Rows left by customers deleted before this are removed first.
DELETE FROM "notification_delivery" d WHERE d."customer_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "customer" c WHERE c."id" = d."customer_id");
DELETE FROM "notification" n WHERE n."customer_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "customer" c WHERE c."id" = n."customer_id");
DELETE FROM "notification_episode" e WHERE e."customer_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "customer" c WHERE c."id" = e."customer_id");
ALTER TABLE "notification_episode" ADD CONSTRAINT "notification_episode_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "notification" ADD CONSTRAINT "notification_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "notification_delivery" ADD CONSTRAINT "notification_delivery_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;
