-- Guards added to the ledger core: funding accounts move money only through
-- deposit/withdraw, the application opens only deposit accounts, and
-- verify_ledger() catches relabelled transfers.
\i sql/include/fresh_extension.sql
\i sql/include/error_of.sql
\set SHOW_CONTEXT never

SELECT escrow.open_account('gd buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('gd shop', 'USD') AS shop \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'USD' \gset
SELECT escrow.deposit(:buyer, 5000) AS dep \gset

-- the funding account cannot be used as an ordinary account
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'funding', :'buyer')),
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'buyer', :'funding')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'funding', :'buyer')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'buyer', :'funding')),
  -- the reserved owner prefix, any case; blank owners
  ($$SELECT escrow.open_account('ESCROW:funding', 'USD')$$),
  ($$SELECT escrow.open_account('   ', 'USD')$$)) AS t(c);

-- escrow_app opens deposit accounts only
SET ROLE escrow_app;
SELECT escrow.open_account('gd app', 'USD') > 0 AS opened;
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.open_account('gd app credit', 'USD', 'credit', 1000)$$),
  ($$SELECT escrow.open_account('gd app system', 'USD', 'system')$$),
  (format($$SELECT escrow.set_account_shards(%s, 2)$$, :'shop'))) AS t(c);
RESET ROLE;
SET ROLE escrow_admin;
SELECT escrow.open_account('gd admin credit', 'USD', 'credit', 1000) > 0 AS opened;
RESET ROLE;

-- intervals beyond a century are refused before they can overflow the
-- timestamp (22023, not 22008)
SELECT escrow.hold(:buyer, :shop, 1, '101 years');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.hold(:buyer, :shop, 1, '178000000 years');
\echo :LAST_ERROR_SQLSTATE

-- the journal guard fires under session_replication_role = replica too
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE escrow.transfers SET kind = 'transfer' WHERE id = :dep;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- relabelling a transfer is caught, even with the guard triggers off
SELECT escrow.refund(escrow.transfer(:buyer, :shop, 700), 200) AS ref \gset
-- (folded: the hash chains carry each entry's transfer kind)
SELECT escrow.fold_journal() > 0 AS folded;
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
UPDATE escrow.transfers SET kind = 'transfer' WHERE id = :dep;
SELECT problem FROM escrow.verify_ledger() ORDER BY 1;
ROLLBACK;
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
UPDATE escrow.transfers SET kind = 'transfer', refund_of = NULL WHERE id = :ref;
SELECT problem FROM escrow.verify_ledger() ORDER BY 1;
ROLLBACK;
SELECT escrow.capture(escrow.hold(:buyer, :shop, 100)) > 0 AS captured;
SELECT escrow.hold(:buyer, :shop, 50) > 0 AS held;
BEGIN;
DELETE FROM escrow.holds;
SELECT problem FROM escrow.verify_ledger() ORDER BY 1;
ROLLBACK;
SELECT * FROM escrow.verify_ledger();
