-- hold + capture in one transaction (one statement): captures spread over 1,000 merchants.
\set a random(:buyer_lo, :buyer_hi)
\set m random(:merchant_lo, :merchant_hi)
SELECT escrow.capture(escrow.hold(:a, :m, 1));
