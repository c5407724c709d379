-- hold + release in one transaction.
\set a random(:buyer_lo, :buyer_hi)
\set m random(:merchant_lo, :merchant_hi)
SELECT escrow.release(escrow.hold(:a, :m, 1));
