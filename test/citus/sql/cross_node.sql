-- cross_node: escrowpay on a Citus cluster (a coordinator and two workers,
-- scripts/citus-cluster.sh), run by scripts/test.sh (kind citus).  Money
-- moves between accounts that live on different workers: each call is one
-- transaction over both, committed with two-phase commit, and a call or a
-- transaction that fails half-way leaves nothing on either worker.
-- scripts/test.sh has created escrowpay and run escrow.distribute() once
\set SHOW_CONTEXT never

-- distribute() again: everything is already in place, nothing changes
SELECT * FROM escrow.distribute();
SELECT logicalrelid::text, partmethod, colocationid > 0 AS colocated
  FROM pg_dist_partition WHERE logicalrelid::text LIKE 'escrow.%' ORDER BY 1;

-- pg_temp.node(), and two accounts on different workers, a (lower id) and b
\set prefix cn
\set currency EUR
\i test/citus/include/two_workers.sql
SELECT escrow.deposit(:a, 10000) IS NOT NULL AS deposited;
\set bal 'SELECT account = ' :a ' AS is_a, posted, held FROM escrow.balances WHERE account IN (' :a ',' :b ') ORDER BY account;'

-- a transfer, hold, capture, release and refund between the two workers
SELECT escrow.transfer(:a, :b, 1000) AS t1 \gset
SELECT escrow.hold(:a, :b, 500) AS h1 \gset
:bal
SELECT escrow.capture(:h1, 200) AS c1 \gset
SELECT escrow.release(:h1);
SELECT escrow.refund(:t1, 300) IS NOT NULL AS refunded;
:bal
SELECT kind, account = :a AS on_a, amount FROM escrow.journal
 WHERE transfer IN (:t1, :c1) ORDER BY transfer, amount;

-- idempotency keys: the same call twice is one transfer
SELECT escrow.transfer(:a, :b, 10, 'cn-key') = escrow.transfer(:a, :b, 10, 'cn-key') AS same;
SELECT escrow.transfer(:a, :b, 11, 'cn-key');
\echo :LAST_ERROR_SQLSTATE

-- a call refused half-way: legs are posted in ascending account order, so
-- the credit to a (the lower id) is written on its worker first, then the
-- debit of b on the other worker refuses; nothing stays on either
SELECT escrow.transfer(:b, :a, 999999);
\echo :LAST_ERROR_SQLSTATE
:bal

-- a transaction over both workers rolled back after its writes succeeded
BEGIN;
SELECT escrow.transfer(:a, :b, 2000) IS NOT NULL AS moved;
SELECT escrow.hold(:b, :a, 100) IS NOT NULL AS held;
:bal
ROLLBACK;
:bal

-- the same, failing in its second call
BEGIN;
SELECT escrow.transfer(:a, :b, 2000) IS NOT NULL AS moved;
SELECT escrow.transfer(:b, :a, 999999);
ROLLBACK;
:bal

-- batches over both workers, and expiry
SELECT array_length(escrow.hold_batch(ARRAY[:a, :b], ARRAY[:b, :a], ARRAY[5, 6]), 1) AS holds;
SELECT array_length(escrow.capture_batch(ARRAY(SELECT id FROM escrow.holds
                                               WHERE status = 'open' ORDER BY id)), 1) AS captures;
SELECT escrow.hold(:a, :b, 7, '1 millisecond') IS NOT NULL AS short_hold;
SELECT pg_sleep(0.01);
SELECT escrow.expire_holds();
:bal

-- a deal whose buyer and merchant accounts live on different workers
SELECT escrow.register_member('cn-buyer', 'Buyer', 'b@example.org', :a);
SELECT escrow.register_merchant('cn-shop', 'Shop', 's@example.org', :b);
SELECT escrow.open_deal('cn-buyer', 'cn-shop', 1500) AS deal \gset
SELECT escrow.issue_identity_code(:deal) AS code \gset
SELECT escrow.confirm_identity(:deal, :'code');
SELECT length(escrow.reserve(:deal, 'cn-buyer')) > 0 AS reserved;
SELECT escrow.mark_shipped(:deal, 'DHL', 'T1', 'cn-shop');
SELECT escrow.mark_delivered(:deal, 'cn-shop');
SELECT escrow.confirm_inspection(:deal, 'cn-buyer') IS NOT NULL AS settled;
SELECT stage, held, captured FROM escrow.deal_progress WHERE deal = :deal;
:bal

-- every view answers from the coordinator
SELECT count(*) > 0 AS journal FROM escrow.journal;
SELECT count(*) AS open_holds FROM escrow.open_holds;
SELECT count(*) AS hold_aging FROM escrow.hold_aging;
SELECT count(*) AS terminal_inventory FROM escrow.terminal_inventory;
SELECT count(*) AS funnel FROM escrow.stage_funnel;
SELECT count(*) AS payouts FROM escrow.merchant_payouts;
SELECT count(*) AS receivables FROM escrow.receivables_due;

-- ... also to an application's login role (a member of escrow_app): Citus
-- runs the views' shard queries as that role, which distribute() granted
-- SELECT on the distributed tables (the role is made with metadata sync
-- on, so that Citus creates it on the workers too)
SET citus.enable_metadata_sync = on;
CREATE ROLE cn_app LOGIN IN ROLE escrow_app;
RESET citus.enable_metadata_sync;
SET ROLE cn_app;
SELECT count(*) > 0 AS balances FROM escrow.balances WHERE account IN (:a, :b);
SELECT count(*) > 0 AS journal FROM escrow.journal WHERE account = :a;
SELECT count(*) >= 0 AS open_holds FROM escrow.open_holds;
SELECT escrow.transfer(:a, :b, 1) IS NOT NULL AS app_transfers;
RESET ROLE;
SET citus.enable_metadata_sync = on;
DROP ROLE cn_app;
RESET citus.enable_metadata_sync;

-- a new currency: its funding account is created on first use, also in the
-- transaction that opens the account, and again after the transaction (or
-- the savepoint) that created it rolled back
BEGIN;
SELECT escrow.deposit(escrow.open_account('nc-1', 'ARS'), 100) IS NOT NULL AS deposited;
ROLLBACK;
SELECT escrow.deposit(escrow.open_account('nc-2', 'ARS'), 100) IS NOT NULL AS deposited;
BEGIN;
SELECT escrow.deposit(escrow.open_account('nc-3', 'BRL'), 100) IS NOT NULL AS deposited;
SAVEPOINT s;
SELECT escrow.deposit(escrow.open_account('nc-4', 'CLP'), 100) IS NOT NULL AS deposited;
ROLLBACK TO s;
SELECT escrow.deposit(escrow.open_account('nc-5', 'CLP'), 100) IS NOT NULL AS deposited;
COMMIT;
-- two new currencies in one transaction that rolls back: the first one's
-- funding account, looked up after the second was created, is not
-- remembered past the rollback (a later first use creates it anew)
BEGIN;
SELECT escrow.open_account('nc-6', 'PEN') AS nc6 \gset
SAVEPOINT s;
SELECT escrow.open_account('nc-7', 'SEK') IS NOT NULL AS opened;
RELEASE s;
SELECT escrow.deposit(:nc6, 100) IS NOT NULL AS deposited;
ROLLBACK;
SELECT escrow.deposit(escrow.open_account('nc-8', 'PEN'), 100) IS NOT NULL AS deposited;
SELECT currency, count(*) AS funding_accounts FROM escrow.accounts
 WHERE kind = 'system' AND currency IN ('ARS', 'BRL', 'CLP', 'PEN', 'SEK') GROUP BY 1 ORDER BY 1;
SELECT owner, posted FROM escrow.balances WHERE owner LIKE 'nc-%' ORDER BY owner;

-- verify_ledger() checks the distributed ledger, and sees tampering on a worker
SELECT * FROM escrow.verify_ledger();
UPDATE escrow.accounts SET posted = posted + 1 WHERE id = :b;
SELECT problem FROM escrow.verify_ledger();
UPDATE escrow.accounts SET posted = posted - 1 WHERE id = :b;
SELECT * FROM escrow.verify_ledger();

-- the journal stays append-only on the workers' shards (terse: the
-- detail names the shard); folded first, so that :a has entries there
SELECT escrow.fold_journal() >= 0 AS folded;
\set VERBOSITY terse
UPDATE escrow.entries SET amount = amount WHERE account = :a;
\echo :LAST_ERROR_SQLSTATE
UPDATE escrow.transfers SET kind = 'deposit' WHERE id = :t1;
\echo :LAST_ERROR_SQLSTATE
UPDATE escrow.transfers SET refunded = 0 WHERE id = :t1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM escrow.entries WHERE account = :a;
\echo :LAST_ERROR_SQLSTATE
