-- Substring search over the queue's envelope senders and subjects (the portal's queue filters,
-- ILIKE '%text%'): trigram indexes answer it without reading every message.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateIndex
CREATE INDEX "message_mail_from_trgm_idx" ON "message" USING GIN ("mail_from" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "message_subject_trgm_idx" ON "message" USING GIN ("subject" gin_trgm_ops);
