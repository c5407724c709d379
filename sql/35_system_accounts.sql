-- 35_system_accounts: money leaves a system account only at an
-- administrator's call.  A system account (opened by escrow_admin) may go
-- negative, so a debit of it creates money: the application (escrow_app)
-- may pay into one, and release a hold on one, but every public call that
-- would take money out of one is refused (42501) and changes nothing:
-- transfer, withdraw, hold, hold_batch, and capture, capture_batch and
-- refund of what debits one.  escrow_admin makes the same calls; a
-- superuser counts as an administrator.  Deals never use system accounts
-- (a party's account is a deposit account or credit line, 12_deal_refusals).
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql

SELECT escrow.open_account('sy-ops', 'USD', 'system') AS ops,
       escrow.open_account('sy-buyer', 'USD') AS buyer, escrow.open_account('sy-shop', 'USD') AS shop \gset
SELECT escrow.deposit(:buyer, 10000) > 0 AS funded;

-- what the administrator prepares: a hold on the system account, a
-- transfer into it (the application may pay into one)
SET ROLE escrow_admin;
SELECT escrow.hold(:ops, :shop, 700) AS ops_hold, escrow.hold(:ops, :shop, 300) AS ops_hold_2 \gset
RESET ROLE;
SET ROLE escrow_app;
SELECT escrow.transfer(:buyer, :ops, 400) AS paid_in \gset
SELECT escrow.deposit(:ops, 50) > 0 AS deposited_into;
RESET ROLE;

-- =====================================================================
-- The application tries every way out of the system account: each
-- refused (42501), nothing changed.
-- =====================================================================
SELECT pg_temp.fingerprint() AS before \gset
SET ROLE escrow_app;
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.transfer(%s, %s, 1000000)$$, :'ops', :'buyer')),
  (format($$SELECT escrow.transfer(%s, %s, 1000000, 'sy-key-1')$$, :'ops', :'buyer')),
  (format($$SELECT escrow.withdraw(%s, 1000000)$$, :'ops')),
  (format($$SELECT escrow.hold(%s, %s, 1000000)$$, :'ops', :'buyer')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s, %s], '{1,1}')$$,
          :'buyer', :'ops', :'shop', :'buyer')),
  (format($$SELECT escrow.capture(%s)$$, :'ops_hold')),
  (format($$SELECT escrow.capture(%s, 100)$$, :'ops_hold')),
  (format($$SELECT escrow.capture_batch(ARRAY[%s])$$, :'ops_hold_2')),
  -- a refund of a transfer into it takes money out of it
  (format($$SELECT escrow.refund(%s)$$, :'paid_in'))) AS t(c);
RESET ROLE;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- releasing an administrator's hold moves no money: allowed
SET ROLE escrow_app;
SELECT escrow.release(:ops_hold_2) AS released;
RESET ROLE;

-- =====================================================================
-- escrow_admin makes the same calls
-- =====================================================================
SET ROLE escrow_admin;
SELECT escrow.transfer(:ops, :buyer, 1000) > 0 AS transferred,
       escrow.withdraw(:ops, 100) > 0 AS withdrew,
       escrow.capture(:ops_hold, 200) > 0 AS captured,
       escrow.capture_batch(ARRAY[:ops_hold]) IS NOT NULL AS captured_rest,
       escrow.refund(:paid_in, 150) > 0 AS refunded,
       array_length(escrow.hold_batch(ARRAY[:ops, :buyer], ARRAY[:buyer, :shop], '{5,5}'), 1) AS held;
SELECT escrow.hold(:ops, :buyer, 10) > 0 AS held_one;
RESET ROLE;

SELECT a.owner, b.posted, b.held FROM escrow.balances b JOIN escrow.accounts a ON a.id = b.account
 WHERE a.owner LIKE 'sy-%' ORDER BY a.id;
SELECT * FROM escrow.verify_ledger();
