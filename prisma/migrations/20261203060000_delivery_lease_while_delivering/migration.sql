-- A delivery has a lease owner exactly while it is being delivered. The statements that record,
-- renew or give back a session's claims find its rows by id and owner alone, through the primary
-- key: a condition on the state would let the planner read the state indexes instead, whose
-- entries for 'delivering' are nearly all dead versions left by earlier claims (a drain of 12,000
-- messages made recording each result cost more than the whole delivery).
ALTER TABLE "delivery" ADD CONSTRAINT "delivery_lease_while_delivering" CHECK (("state" = 'delivering') = ("lease_owner" IS NOT NULL));
