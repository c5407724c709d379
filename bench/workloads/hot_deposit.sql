-- escrow.deposit into a random buyer: every deposit debits the one funding account.
\set a random(:buyer_lo, :buyer_hi)
SELECT escrow.deposit(:a, 1);
