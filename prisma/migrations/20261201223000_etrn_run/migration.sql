-- One ETRN run per domain at a time across mailers: the marker of the run in progress.
CREATE TABLE "etrn_run" (
    "domain_id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "follow_up" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "etrn_run_pkey" PRIMARY KEY ("domain_id")
);

ALTER TABLE "etrn_run" ADD CONSTRAINT "etrn_run_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domain"("id") ON DELETE CASCADE ON UPDATE CASCADE;
