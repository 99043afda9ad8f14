-- Bounce protection (issue 12 §2): a per-domain threshold, the mark a trip leaves with its
-- evidence, and which held deliveries the customer's server refused while the domain was held.
ALTER TABLE "domain" ADD COLUMN "bounce_protection_percent" INTEGER DEFAULT 50;
ALTER TABLE "domain" ADD COLUMN "bounce_held_at" TIMESTAMP(3);
ALTER TABLE "domain" ADD COLUMN "bounce_held_evidence" JSONB;

ALTER TABLE "delivery" ADD COLUMN "protection_held" BOOLEAN NOT NULL DEFAULT false;
