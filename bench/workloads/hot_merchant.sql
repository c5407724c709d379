-- hold + capture where every capture credits the same (hot) merchant account.
\set a random(:buyer_lo, :buyer_hi)
SELECT escrow.capture(escrow.hold(:a, :hot, 1));
