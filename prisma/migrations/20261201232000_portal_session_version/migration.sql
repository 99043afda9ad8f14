-- Portal sessions end when the user's password changes: the session token carries the version it
-- was signed in under, and a password change raises it.
ALTER TABLE "portal_user" ADD COLUMN "session_version" INTEGER NOT NULL DEFAULT 0;
