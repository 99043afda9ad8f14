-- The transcript of an ODMR session (AUTH result, ATRN reply, each message's replies, how it
-- ended) for the login's owner and staff. A failed AUTH naming an existing login is linked to that
-- login: "authenticated" tells those sessions apart, so only the newest few of them are kept.
ALTER TABLE "odmr_session" ADD COLUMN "authenticated" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "transcript" JSONB;
-- until now a session had a login only after a successful AUTH
UPDATE "odmr_session" SET "authenticated" = true WHERE "login_id" IS NOT NULL;
