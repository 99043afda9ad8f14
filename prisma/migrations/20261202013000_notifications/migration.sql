-- Notifications (issue 12 §3): per-customer destinations and thresholds, episodes (once per
-- condition and object until it clears), what was said, and the delivery log.
CREATE TABLE "notification_settings" (
    "customer_id" UUID NOT NULL,
    "email" TEXT,
    "webhook_url" TEXT,
    "webhook_secret_enc" TEXT,
    "uncollected_hours" INTEGER NOT NULL DEFAULT 24,
    "held_count_limit" INTEGER DEFAULT 1000,
    "held_mb_limit" INTEGER DEFAULT 500,
    "expiry_warning_days" INTEGER NOT NULL DEFAULT 3,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "notification_settings_pkey" PRIMARY KEY ("customer_id")
);
ALTER TABLE "notification_settings" ADD CONSTRAINT "notification_settings_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "notification_episode" (
    "id" UUID NOT NULL,
    "condition" TEXT NOT NULL,
    "object_key" TEXT NOT NULL,
    "customer_id" UUID,
    "opened_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closed_at" TIMESTAMP(3),

    CONSTRAINT "notification_episode_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "notification_episode_condition_object_key_idx" ON "notification_episode"("condition", "object_key");
-- once per episode: two housekeeping runs cannot both open the same one
CREATE UNIQUE INDEX "notification_episode_open_key" ON "notification_episode"("condition", "object_key") WHERE "closed_at" IS NULL;

CREATE TABLE "notification" (
    "id" UUID NOT NULL,
    "episode_id" UUID,
    "customer_id" UUID,
    "condition" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "notification_customer_id_created_at_idx" ON "notification"("customer_id", "created_at");
ALTER TABLE "notification" ADD CONSTRAINT "notification_episode_id_fkey" FOREIGN KEY ("episode_id") REFERENCES "notification_episode"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "notification_delivery" (
    "id" UUID NOT NULL,
    "notification_id" UUID NOT NULL,
    "customer_id" UUID,
    "channel" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "last_status" INTEGER,
    "sent_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_delivery_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "notification_delivery_state_next_attempt_at_idx" ON "notification_delivery"("state", "next_attempt_at");
CREATE INDEX "notification_delivery_customer_id_created_at_idx" ON "notification_delivery"("customer_id", "created_at");
ALTER TABLE "notification_delivery" ADD CONSTRAINT "notification_delivery_notification_id_fkey" FOREIGN KEY ("notification_id") REFERENCES "notification"("id") ON DELETE CASCADE ON UPDATE CASCADE;
