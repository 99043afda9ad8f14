-- Every change to what the MX's recipient decision reads (lib/domains/resolve-recipient.ts) is
-- announced on the channel "recipient_lookup", so that a mailer reusing earlier answers drops them
-- the moment the change commits (NOTIFY is delivered at commit, and not at all on rollback). One
-- notification per statement, so a bulk import of recipients costs one, not one per row.
CREATE FUNCTION "notify_recipient_lookup"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('recipient_lookup', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;

CREATE TRIGGER "domain_recipient_lookup"
  AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF "name", "customer_id", "recipient_policy", "recipient_delimiter", "max_message_size", "accept_inbound"
  ON "domain" FOR EACH STATEMENT EXECUTE FUNCTION "notify_recipient_lookup"();

CREATE TRIGGER "customer_recipient_lookup"
  AFTER DELETE OR TRUNCATE OR UPDATE OF "status"
  ON "customer" FOR EACH STATEMENT EXECUTE FUNCTION "notify_recipient_lookup"();

CREATE TRIGGER "recipient_recipient_lookup"
  AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE
  ON "recipient" FOR EACH STATEMENT EXECUTE FUNCTION "notify_recipient_lookup"();
