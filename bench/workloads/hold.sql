-- escrow.hold alone: a reservation freeze on a random buyer for a random merchant.
\set a random(:buyer_lo, :buyer_hi)
\set m random(:merchant_lo, :merchant_hi)
SELECT escrow.hold(:a, :m, 1);
