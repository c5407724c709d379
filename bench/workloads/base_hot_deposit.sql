-- BASELINE (bench/baseline/baseline.sql), same calls: baseline.deposit into a random buyer: every deposit debits the one funding account.
\set a random(:bbuyer_lo, :bbuyer_hi)
SELECT baseline.deposit(:a, 1);
