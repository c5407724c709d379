-- Yardstick: the minimal two-write transaction, two one-row INSERTs in one
-- transaction (the same round trips as hold_capture_2calls).
\set a random(:buyer_lo, :buyer_hi)
BEGIN;
INSERT INTO bench_minimal (account, amount) VALUES (:a, 1);
INSERT INTO bench_minimal (account, amount) VALUES (:a, 2);
END;
