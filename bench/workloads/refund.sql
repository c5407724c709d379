-- refund of 1 minor unit of a random earlier capture (prepared by run.sh).
\set t random(:capture_lo, :capture_hi)
SELECT escrow.refund(:t, 1);
