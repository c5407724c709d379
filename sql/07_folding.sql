-- Folding: credits (and a system account's debits) touch no account row;
-- they wait in escrow.unfolded and are folded into the entries and the
-- row later.  Exact reads at every moment, debits that never overdraw and
-- count only the money in the row (counting the committed credits in it
-- first when that refuses), the running
-- balance and hash chain of folded entries, set_account_shards kept as a
-- call that changes nothing.
\i sql/include/fresh_extension.sql
\i sql/include/error_of.sql
\set SHOW_CONTEXT never

SELECT escrow.open_account('fo buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('fo merchant', 'USD') AS shop \gset
SELECT escrow.open_account('fo other', 'EUR') AS eur \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'USD' \gset
CREATE FUNCTION pg_temp.state(a bigint) RETURNS TABLE (row_posted bigint, waiting bigint,
    view_posted bigint, available bigint, entries bigint)
LANGUAGE sql AS $$
  SELECT x.posted, (SELECT count(*) FROM escrow.unfolded u WHERE u.account = a),
         b.posted, b.available,
         (SELECT count(*) FROM escrow.entries e WHERE e.account = x.id)
    FROM escrow.accounts x JOIN escrow.balances b ON b.account = x.id WHERE x.id = a
$$;

-- a deposit touches neither row: both legs wait, the view is exact
SELECT escrow.deposit(:buyer, 100000) > 0 AS deposited;
SELECT * FROM pg_temp.state(:buyer);
SELECT * FROM pg_temp.state(:funding);

-- a hold counts only the money in the row: it counts the buyer's committed
-- credits in it under its lock first (they stay waiting, counted, to be folded)
SELECT escrow.hold(:buyer, :shop, 3000) AS h1 \gset
SELECT * FROM pg_temp.state(:buyer);
SELECT seq, amount, balance FROM escrow.entries WHERE account = :buyer ORDER BY seq;

-- credits to the merchant wait; its row stays untouched, the view adds them
SELECT escrow.capture(:h1) AS cap1 \gset
SELECT escrow.transfer(:buyer, :shop, 2000) AS tr1 \gset
SELECT * FROM pg_temp.state(:shop);
SELECT account = :shop AS merchant, seq, amount, balance, hash IS NULL AS unhashed
  FROM escrow.journal WHERE account = :shop ORDER BY transfer;

-- a debit beyond the row's balance counts the credits, then decides: 4000 of 5000 goes
SELECT escrow.withdraw(:shop, 4000) > 0 AS withdrew;
SELECT * FROM pg_temp.state(:shop);
SELECT seq, amount, balance FROM escrow.entries WHERE account = :shop ORDER BY seq;
-- and never more than there is, even with credits waiting
SELECT escrow.transfer(:buyer, :shop, 500) > 0 AS credited;
SELECT escrow.withdraw(:shop, 1501);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.state(:shop);
SELECT escrow.withdraw(:shop, 1500) > 0 AS withdrew_all;
SELECT * FROM pg_temp.state(:shop);

-- fold_journal folds everything waiting, in transfer order, with running
-- balances and the hash chain; the view does not move
SELECT sum(posted) AS usd_before FROM escrow.balances WHERE currency = 'USD';
SELECT count(*) > 0 AS waiting FROM escrow.unfolded;
SELECT escrow.fold_journal() > 0 AS folded;
SELECT count(*) AS waiting FROM escrow.unfolded;
SELECT escrow.fold_journal() AS nothing_left;
SELECT sum(posted) AS usd_after FROM escrow.balances WHERE currency = 'USD';
SELECT bool_and(a.posted = b.posted) AS rows_are_the_balances
  FROM escrow.accounts a JOIN escrow.balances b ON b.account = a.id;
SELECT e.seq, t.kind, e.amount, e.balance,
       e.balance = sum(e.amount) OVER (ORDER BY e.seq) AS running
  FROM escrow.entries e JOIN escrow.transfers t ON t.id = e.transfer_id
 WHERE e.account = :funding ORDER BY e.seq;
SELECT escrow.fold_journal(0);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.fold_journal(NULL);
\echo :LAST_ERROR_SQLSTATE

-- a large credit, or one to an account near its bound, is posted under
-- the lock against the exact balance (applied to the row at once)
SELECT escrow.deposit(:buyer, 2000000000000) > 0 AS big_deposit;
SELECT amount, applied FROM escrow.unfolded WHERE account = :buyer;
SELECT * FROM pg_temp.state(:buyer);

-- set_account_shards: kept for 0.1.0 callers, changes nothing, returns 0
SELECT escrow.set_account_shards(:shop, 4);
SELECT escrow.set_account_shards(:funding, 64);
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.set_account_shards(%s, 65)$$, :'shop')),
  (format($$SELECT escrow.set_account_shards(%s, NULL)$$, :'shop')),
  ($$SELECT escrow.set_account_shards(NULL, 2)$$),
  ($$SELECT escrow.set_account_shards(999999, 2)$$)) AS t(c);
SELECT count(*) AS accounts FROM escrow.accounts;

-- refusals still name the account and change nothing
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.transfer(%s, %s, 1)$$, :'buyer', :'eur')),
  (format($$SELECT escrow.transfer(%s, 999999, 1)$$, :'buyer')),
  (format($$SELECT escrow.transfer(%s, %s, 1)$$, :'buyer', :'funding'))) AS t(c);
SELECT count(*) AS transfers FROM escrow.transfers;

-- fold_journal is for administrators
SET ROLE escrow_app;
SELECT escrow.fold_journal();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT * FROM escrow.verify_ledger();
