-- Account security of portal users: one-time passwords that must be changed first, TOTP two-factor
-- sign-in (RFC 6238; the secret sealed under the server key) and one-use recovery codes (hashed).
ALTER TABLE "portal_user" ADD COLUMN "must_change_password" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "portal_user" ADD COLUMN "totp_secret_enc" TEXT;
ALTER TABLE "portal_user" ADD COLUMN "totp_enabled_at" TIMESTAMP(3);
ALTER TABLE "portal_user" ADD COLUMN "totp_last_step" INTEGER;

CREATE TABLE "portal_recovery_code" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "code_hash" TEXT NOT NULL,
    "used_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "portal_recovery_code_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "portal_recovery_code_user_id_idx" ON "portal_recovery_code"("user_id");

ALTER TABLE "portal_recovery_code" ADD CONSTRAINT "portal_recovery_code_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "portal_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;
