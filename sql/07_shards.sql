-- Balance shards for hot accounts: set_account_shards, credits spread over
-- shards, exact reads, debits that never overdraw, refusals.
DROP EXTENSION IF EXISTS escrowpay CASCADE;
CREATE EXTENSION escrowpay;
\set SHOW_CONTEXT never

SELECT escrow.open_account('sh buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('sh merchant', 'USD') AS shop \gset
SELECT escrow.open_account('sh other', 'EUR') AS eur \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'USD' \gset
SELECT escrow.deposit(:buyer, 100000) > 0 AS deposited;

-- marking hot: 4 shards, then 6; never fewer
SELECT escrow.set_account_shards(:shop, 4);
SELECT escrow.set_account_shards(:shop, 6);
SELECT escrow.set_account_shards(:shop, 6);
SELECT escrow.set_account_shards(:shop, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.set_account_shards(:shop, 65);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.set_account_shards(:shop, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.set_account_shards(NULL, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.set_account_shards(999999, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS shard_rows FROM escrow.accounts WHERE parent = :shop;
-- a shard is not an account of its own
SELECT min(id) AS shard FROM escrow.accounts WHERE parent = :shop \gset
SELECT escrow.deposit(:shard, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.transfer(:buyer, :shard, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.hold(:buyer, :shard, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.set_account_shards(:shard, 2);
\echo :LAST_ERROR_SQLSTATE

-- credits land on a shard; the balances view adds them up exactly
SELECT escrow.capture(escrow.hold(:buyer, :shop, 3000)) AS cap1 \gset
SELECT escrow.transfer(:buyer, :shop, 2000) AS tr1 \gset
SELECT escrow.deposit(:shop, 500) > 0 AS deposited;
SELECT owner, posted, held, available FROM escrow.balances WHERE account IN (:buyer, :shop) ORDER BY account;
SELECT posted AS row_posted FROM escrow.accounts WHERE id = :shop;
SELECT sum(posted) AS shard_posted FROM escrow.accounts WHERE parent = :shop;
SELECT account = :shop AS logical, chain <> :shop AS on_shard, amount
  FROM escrow.journal WHERE account = :shop ORDER BY transfer;

-- debits from the hot account use every shard's balance, and no more
SELECT escrow.withdraw(:shop, 4000) > 0 AS withdrew;
SELECT posted, available FROM escrow.balances WHERE account = :shop;
SELECT posted AS row_posted FROM escrow.accounts WHERE id = :shop;
SELECT escrow.withdraw(:shop, 1501);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.refund(:cap1, 1000) > 0 AS refunded;
SELECT escrow.refund(:tr1, 600);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.hold(:shop, :buyer, 400) AS shop_hold \gset
SELECT posted, held, available FROM escrow.balances WHERE account = :shop;
SELECT escrow.hold(:shop, :buyer, 101);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.capture(:shop_hold) > 0 AS captured;
SELECT posted, held, available FROM escrow.balances WHERE account = :shop;
SELECT escrow.transfer(:shop, :eur, 1);
\echo :LAST_ERROR_SQLSTATE

-- a sharded funding account: deposits and withdrawals both spread
SELECT escrow.set_account_shards(:funding, 3);
SELECT escrow.deposit(:buyer, 700) > 0 AS deposited;
SELECT escrow.withdraw(:buyer, 300) > 0 AS withdrew;
SELECT count(DISTINCT chain) AS funding_chains FROM escrow.journal WHERE account = :funding;
SELECT posted FROM escrow.balances WHERE account = :funding;

-- a sharded credit line keeps its limit over all shards
SELECT escrow.open_account('sh credit', 'USD', 'credit', 1000) AS line \gset
SELECT escrow.set_account_shards(:line, 2);
SELECT escrow.transfer(:line, :buyer, 800) > 0 AS spent;
SELECT escrow.transfer(:buyer, :line, 300) > 0 AS repaid;
SELECT posted, available FROM escrow.balances WHERE account = :line;
SELECT escrow.set_credit_limit(:line, 499);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.set_credit_limit(:line, 500);
SELECT escrow.transfer(:line, :buyer, 1);
\echo :LAST_ERROR_SQLSTATE

SELECT sum(posted) AS usd_total FROM escrow.balances WHERE currency = 'USD';
SELECT * FROM escrow.verify_ledger();
