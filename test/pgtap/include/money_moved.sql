-- test/pgtap/include/money_moved.sql (included with \ir by the pgTAP files):
-- one call of every function that moves money, as the current role under
-- the current search_path.  Accounts <tag>-buyer and <tag>-seller in
-- currency :'currency' (psql variables tag, currency, and dep_key: the
-- deposit's idempotency key, '' for none); sets buyer, seller, dep, xfer,
-- hold, cap, released, ref and wd.  The buyer ends with 740, the seller
-- with 250, the hold released with 100 left.
SELECT escrow.open_account(:'tag' || '-buyer', :'currency') AS buyer \gset
SELECT escrow.open_account(:'tag' || '-seller', :'currency') AS seller \gset
SELECT escrow.deposit(:buyer, 1000, nullif(:'dep_key', '')) AS dep \gset
SELECT escrow.transfer(:buyer, :seller, 100) AS xfer \gset
SELECT escrow.hold(:buyer, :seller, 300, '1 day') AS hold \gset
SELECT escrow.capture(:hold, 200) AS cap \gset
SELECT escrow.release(:hold) AS released \gset
SELECT escrow.refund(:cap, 50) AS ref \gset
SELECT escrow.withdraw(:buyer, 10) AS wd \gset
