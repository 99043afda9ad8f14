-- CreateEnum
CREATE TYPE "CustomerStatus" AS ENUM ('active', 'suspended');

-- CreateEnum
CREATE TYPE "PortalRole" AS ENUM ('staff', 'customer');

-- CreateEnum
CREATE TYPE "LoginStatus" AS ENUM ('active', 'disabled');

-- CreateEnum
CREATE TYPE "RecipientPolicy" AS ENUM ('listed', 'accept_all');

-- CreateEnum
CREATE TYPE "EtrnTls" AS ENUM ('opportunistic', 'required', 'none');

-- CreateEnum
CREATE TYPE "DeliveryState" AS ENUM ('queued', 'delivering', 'delivered', 'bounced', 'expired');

-- CreateEnum
CREATE TYPE "DsnState" AS ENUM ('pending', 'sent', 'held');

-- CreateEnum
CREATE TYPE "SessionKind" AS ENUM ('atrn', 'etrn');

-- CreateTable
CREATE TABLE "customer" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT,
    "status" "CustomerStatus" NOT NULL DEFAULT 'active',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "customer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "portal_user" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "PortalRole" NOT NULL,
    "customer_id" UUID,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_login_at" TIMESTAMP(3),

    CONSTRAINT "portal_user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "odmr_login" (
    "id" UUID NOT NULL,
    "login" TEXT NOT NULL,
    "customer_id" UUID NOT NULL,
    "status" "LoginStatus" NOT NULL DEFAULT 'active',
    "all_domains" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "last_used_ip" TEXT,

    CONSTRAINT "odmr_login_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "odmr_secret" (
    "id" UUID NOT NULL,
    "login_id" UUID NOT NULL,
    "password_hash" TEXT NOT NULL,
    "secret_enc" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3),

    CONSTRAINT "odmr_secret_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "login_domain" (
    "login_id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,

    CONSTRAINT "login_domain_pkey" PRIMARY KEY ("login_id","domain_id")
);

-- CreateTable
CREATE TABLE "domain" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "customer_id" UUID NOT NULL,
    "recipient_policy" "RecipientPolicy" NOT NULL DEFAULT 'listed',
    "retention_days" INTEGER NOT NULL DEFAULT 30,
    "max_message_size" INTEGER NOT NULL DEFAULT 26214400,
    "accept_inbound" BOOLEAN NOT NULL DEFAULT true,
    "atrn_enabled" BOOLEAN NOT NULL DEFAULT true,
    "etrn_enabled" BOOLEAN NOT NULL DEFAULT false,
    "etrn_target" TEXT,
    "etrn_tls" "EtrnTls" NOT NULL DEFAULT 'opportunistic',
    "etrn_from" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "domain_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recipient" (
    "id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,
    "address" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recipient_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message" (
    "id" TEXT NOT NULL,
    "mail_from" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "received_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "client_address" TEXT,
    "helo_name" TEXT,
    "from_header" TEXT,
    "subject" TEXT,
    "message_id_hdr" TEXT,
    "date_header" TEXT,
    "body_type" TEXT,
    "smtputf8" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_body" (
    "message_id" TEXT NOT NULL,
    "raw" BYTEA NOT NULL,

    CONSTRAINT "message_body_pkey" PRIMARY KEY ("message_id")
);

-- CreateTable
CREATE TABLE "delivery" (
    "id" BIGSERIAL NOT NULL,
    "message_id" TEXT NOT NULL,
    "domain_id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "recipient" TEXT NOT NULL,
    "state" "DeliveryState" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_attempt_at" TIMESTAMP(3),
    "delivered_at" TIMESTAMP(3),
    "lease_owner" TEXT,
    "lease_until" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "delivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dsn" (
    "id" UUID NOT NULL,
    "message_id" TEXT,
    "rcpt_to" TEXT NOT NULL,
    "raw" BYTEA NOT NULL,
    "reason" TEXT NOT NULL,
    "state" "DsnState" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMP(3),

    CONSTRAINT "dsn_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "odmr_session" (
    "id" UUID NOT NULL,
    "kind" "SessionKind" NOT NULL DEFAULT 'atrn',
    "login_id" UUID,
    "customer_id" UUID,
    "login_name" TEXT,
    "remote_address" TEXT NOT NULL,
    "tls" BOOLEAN NOT NULL DEFAULT false,
    "domains_requested" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "reply" TEXT,
    "messages_delivered" INTEGER NOT NULL DEFAULT 0,
    "recipients_delivered" INTEGER NOT NULL DEFAULT 0,
    "bytes_delivered" BIGINT NOT NULL DEFAULT 0,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ended_at" TIMESTAMP(3),
    "outcome" TEXT,

    CONSTRAINT "odmr_session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_event" (
    "id" BIGSERIAL NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "object_type" TEXT NOT NULL,
    "object_id" TEXT,
    "customer_id" UUID,
    "details" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "customer_name_key" ON "customer"("name");

-- CreateIndex
CREATE UNIQUE INDEX "portal_user_email_key" ON "portal_user"("email");

-- CreateIndex
CREATE INDEX "portal_user_customer_id_idx" ON "portal_user"("customer_id");

-- CreateIndex
CREATE UNIQUE INDEX "odmr_login_login_key" ON "odmr_login"("login");

-- CreateIndex
CREATE INDEX "odmr_login_customer_id_idx" ON "odmr_login"("customer_id");

-- CreateIndex
CREATE INDEX "odmr_secret_login_id_idx" ON "odmr_secret"("login_id");

-- CreateIndex
CREATE INDEX "login_domain_domain_id_idx" ON "login_domain"("domain_id");

-- CreateIndex
CREATE UNIQUE INDEX "domain_name_key" ON "domain"("name");

-- CreateIndex
CREATE INDEX "domain_customer_id_idx" ON "domain"("customer_id");

-- CreateIndex
CREATE UNIQUE INDEX "recipient_domain_id_address_key" ON "recipient"("domain_id", "address");

-- CreateIndex
CREATE INDEX "message_received_at_idx" ON "message"("received_at");

-- CreateIndex
CREATE INDEX "delivery_domain_id_state_id_idx" ON "delivery"("domain_id", "state", "id");

-- CreateIndex
CREATE INDEX "delivery_customer_id_state_id_idx" ON "delivery"("customer_id", "state", "id");

-- CreateIndex
CREATE INDEX "delivery_state_created_at_idx" ON "delivery"("state", "created_at");

-- CreateIndex
CREATE INDEX "delivery_message_id_idx" ON "delivery"("message_id");

-- CreateIndex
CREATE INDEX "dsn_state_created_at_idx" ON "dsn"("state", "created_at");

-- CreateIndex
CREATE INDEX "odmr_session_login_id_started_at_idx" ON "odmr_session"("login_id", "started_at");

-- CreateIndex
CREATE INDEX "odmr_session_customer_id_started_at_idx" ON "odmr_session"("customer_id", "started_at");

-- CreateIndex
CREATE INDEX "odmr_session_started_at_idx" ON "odmr_session"("started_at");

-- CreateIndex
CREATE INDEX "audit_event_created_at_idx" ON "audit_event"("created_at");

-- CreateIndex
CREATE INDEX "audit_event_customer_id_created_at_idx" ON "audit_event"("customer_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_event_object_type_object_id_idx" ON "audit_event"("object_type", "object_id");

-- AddForeignKey
ALTER TABLE "portal_user" ADD CONSTRAINT "portal_user_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "odmr_login" ADD CONSTRAINT "odmr_login_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "odmr_secret" ADD CONSTRAINT "odmr_secret_login_id_fkey" FOREIGN KEY ("login_id") REFERENCES "odmr_login"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "login_domain" ADD CONSTRAINT "login_domain_login_id_fkey" FOREIGN KEY ("login_id") REFERENCES "odmr_login"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "login_domain" ADD CONSTRAINT "login_domain_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domain"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "domain" ADD CONSTRAINT "domain_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recipient" ADD CONSTRAINT "recipient_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domain"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_body" ADD CONSTRAINT "message_body_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "delivery" ADD CONSTRAINT "delivery_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "delivery" ADD CONSTRAINT "delivery_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domain"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "delivery" ADD CONSTRAINT "delivery_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "odmr_session" ADD CONSTRAINT "odmr_session_login_id_fkey" FOREIGN KEY ("login_id") REFERENCES "odmr_login"("id") ON DELETE SET NULL ON UPDATE CASCADE;
