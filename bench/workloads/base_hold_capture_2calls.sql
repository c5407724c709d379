-- BASELINE (bench/baseline/baseline.sql), same calls: hold, then capture, as two calls in one transaction (the round trips of two_writes).
\set a random(:bbuyer_lo, :bbuyer_hi)
\set m random(:bmerchant_lo, :bmerchant_hi)
BEGIN;
SELECT baseline.hold(:a, :m, 1) AS h \gset
SELECT baseline.capture(:h);
END;
