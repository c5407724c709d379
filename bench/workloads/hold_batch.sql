-- escrow.hold_batch of :batch holds from random buyers to random merchants.
SELECT escrow.hold_batch(
  ARRAY(SELECT :buyer_lo::bigint + floor(random() * (:buyer_hi::bigint - :buyer_lo::bigint + 1))::bigint FROM generate_series(1, :batch::int)),
  ARRAY(SELECT :merchant_lo::bigint + floor(random() * (:merchant_hi::bigint - :merchant_lo::bigint + 1))::bigint FROM generate_series(1, :batch::int)),
  array_fill(1::bigint, ARRAY[:batch::int]));
