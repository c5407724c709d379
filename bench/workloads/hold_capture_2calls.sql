-- hold, then capture, as two calls in one transaction (the round trips of two_writes).
\set a random(:buyer_lo, :buyer_hi)
\set m random(:merchant_lo, :merchant_hi)
BEGIN;
SELECT escrow.hold(:a, :m, 1) AS h \gset
SELECT escrow.capture(:h);
END;
