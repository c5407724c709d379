-- BASELINE (bench/baseline/baseline.sql), same calls: baseline.hold alone: a reservation freeze on a random buyer for a random merchant.
\set a random(:bbuyer_lo, :bbuyer_hi)
\set m random(:bmerchant_lo, :bmerchant_hi)
SELECT baseline.hold(:a, :m, 1);
