-- BASELINE (bench/baseline/baseline.sql), same calls: hold + capture in one transaction (one statement): captures spread over 1,000 merchants.
\set a random(:bbuyer_lo, :bbuyer_hi)
\set m random(:bmerchant_lo, :bmerchant_hi)
SELECT baseline.capture(baseline.hold(:a, :m, 1));
