-- BASELINE (bench/baseline/baseline.sql), same calls: hold + capture where every capture credits the same (hot) merchant account.
\set a random(:bbuyer_lo, :bbuyer_hi)
SELECT baseline.capture(baseline.hold(:a, :bhot, 1));
