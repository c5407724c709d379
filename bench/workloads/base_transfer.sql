-- BASELINE (bench/baseline/baseline.sql), same calls: baseline.transfer: a posted transfer of 1 from a random buyer to a random merchant.
\set a random(:bbuyer_lo, :bbuyer_hi)
\set m random(:bmerchant_lo, :bmerchant_hi)
SELECT baseline.transfer(:a, :m, 1);
