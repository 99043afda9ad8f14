-- "Deliver now": a release to the domain's ETRN target asked for from the portal or the CLI,
-- waiting for a mailer to take it.
ALTER TABLE "domain" ADD COLUMN "etrn_requested_at" TIMESTAMP(3),
ADD COLUMN "etrn_requested_by" TEXT;
