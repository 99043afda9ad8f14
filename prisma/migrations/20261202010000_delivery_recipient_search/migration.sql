-- Search by recipient in the portal's queue and held mail (ILIKE '%text%', a prefix such as
-- 'sales@' included): a trigram index answers it without reading every delivery. pg_trgm was
-- created by 20261121100000_queue_text_search.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateIndex
CREATE INDEX "delivery_recipient_trgm_idx" ON "delivery" USING GIN ("recipient" gin_trgm_ops);
