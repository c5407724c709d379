-- sql/include/dispute_split.sql (included with \i by 27_deal_deadlines
-- after a SELECT ... \gset of d, to_buyer and to_merchant): the disputed
-- deal :d resolved with :to_buyer for the buyer and :to_merchant for the
-- merchant; shows the resolution's payload, the deal, its receivable and
-- the money before and after (the file's view money, pg_temp.deal and
-- pg_temp.receivable).
SELECT balances AS m0 FROM money \gset
SELECT escrow.resolve_dispute(:d, :to_buyer, :to_merchant);
SELECT payload FROM escrow.deal_events WHERE deal = :d ORDER BY id DESC LIMIT 1;
SELECT * FROM pg_temp.deal(:d);
SELECT * FROM pg_temp.receivable(:d);
SELECT :'m0' AS before, balances AS after FROM money;
