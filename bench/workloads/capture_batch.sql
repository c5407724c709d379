-- escrow.capture_batch of the :batch holds a hold_batch just placed (one transaction).
SELECT escrow.capture_batch(escrow.hold_batch(
  ARRAY(SELECT (:buyer_lo + floor(random() * (:buyer_hi - :buyer_lo + 1)))::bigint FROM generate_series(1, :batch)),
  ARRAY(SELECT (:merchant_lo + floor(random() * (:merchant_hi - :merchant_lo + 1)))::bigint FROM generate_series(1, :batch)),
  array_fill(1::bigint, ARRAY[:batch])));
