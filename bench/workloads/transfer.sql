-- escrow.transfer: a posted transfer of 1 from a random buyer to a random merchant.
\set a random(:buyer_lo, :buyer_hi)
\set m random(:merchant_lo, :merchant_hi)
SELECT escrow.transfer(:a, :m, 1);
