-- sql/include/deal_at.sql (included with \i by the regress files):
-- pg_temp.deal_at(buyer, merchant, amount, stage [, settlement,
-- institution, inspector, ship]), a deal opened with those terms and taken
-- by its parties through the happy path up to stage (order_received,
-- identity_confirmed, funds_reserved, shipped, delivered or settled).
CREATE FUNCTION pg_temp.deal_at(b text, m text, amount bigint, stage text,
                                settlement text DEFAULT 'escrow', institution text DEFAULT NULL,
                                inspector text DEFAULT NULL, ship interval DEFAULT '7 days')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  d bigint := escrow.open_deal(b, m, amount, inspector => inspector, ship_within => ship,
                               settlement => settlement, institution => institution);
  n int := array_position(ARRAY['order_received', 'identity_confirmed', 'funds_reserved',
                                'shipped', 'delivered', 'settled'], stage);
BEGIN
  IF n IS NULL THEN RAISE EXCEPTION 'no such stage %', stage; END IF;
  IF n > 1 THEN PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d)); END IF;
  IF n > 2 THEN PERFORM escrow.reserve(d, b); END IF;
  IF n > 3 THEN PERFORM escrow.mark_shipped(d, 'DHL', 'T-' || d, m); END IF;
  IF n > 4 THEN PERFORM escrow.mark_delivered(d, m); END IF;
  IF n > 5 THEN PERFORM escrow.confirm_inspection(d, b); END IF;
  RETURN d;
END $$;
