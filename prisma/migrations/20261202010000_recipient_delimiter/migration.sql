-- Per-domain recipient delimiter: the characters that start an address extension (joe+news@),
-- empty for none. At RCPT an unlisted address is looked up again without its extension.
ALTER TABLE "domain" ADD COLUMN "recipient_delimiter" TEXT NOT NULL DEFAULT '';
