-- A release that was granted (ATRN 250, ETRN 250/252/253) but could not take place: an ETRN run
-- whose target could not be reached or refused to take mail, or that did not start. The reply is
-- what the client was told; this says what then happened (lib/sessions/session-result.ts).
ALTER TABLE "odmr_session" ADD COLUMN "release_failed" BOOLEAN NOT NULL DEFAULT false;
