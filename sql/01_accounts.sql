-- 01_accounts: roles, currencies, open_account, set_credit_limit and the
-- balances view.  Every refusal shows its SQLSTATE and changes nothing.
--
-- Each file starts from a freshly created extension, so that it can run
-- alone (make installcheck REGRESS=01_accounts) and ids are deterministic.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql

-- The extension's roles exist (privileges in depth are tested with pgTAP).
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'escrow\_%' ORDER BY 1;

-- Currencies: ISO 4217 codes with their minor-unit exponent.
SELECT count(*) AS builtin FROM escrow.currencies WHERE builtin;
SELECT code, exponent, name FROM escrow.currencies
 WHERE code IN ('USD', 'JPY', 'KWD', 'EUR') ORDER BY code;

-- open_account: deposit by default; currency is case-insensitive; the
-- currency's funding system account appears on first use only.
SELECT escrow.open_account('acc-alice', 'USD') AS alice \gset
SELECT escrow.open_account('acc-bob', 'usd', 'deposit') AS bob \gset
SELECT escrow.open_account('acc-carol', 'USD', 'credit', 5000) AS carol \gset
SELECT escrow.open_account('acc-clearing', 'USD', 'system') AS clearing \gset
SELECT escrow.open_account('acc-alice', 'JPY') AS alice_jpy \gset
SELECT escrow.open_account(repeat('x', 200), 'EUR') AS long_owner \gset
SELECT :bob > :alice AS ids_increase, :alice_jpy <> :alice AS new_id_per_account;
SELECT currency, count(*) FROM escrow.accounts
 WHERE owner = 'escrow:funding' AND kind = 'system' GROUP BY currency ORDER BY currency;
SELECT owner, kind, currency, posted, held, credit_limit, available
  FROM escrow.balances WHERE owner LIKE 'acc-%' ORDER BY owner, currency;
SELECT length(owner), kind, currency FROM escrow.balances WHERE account = :long_owner;

-- A currency an account uses cannot be deleted, re-coded or truncated
-- (23503); one no account uses can.
DELETE FROM escrow.currencies WHERE code = 'JPY';
\echo :LAST_ERROR_SQLSTATE
UPDATE escrow.currencies SET code = 'JPX' WHERE code = 'JPY';
\echo :LAST_ERROR_SQLSTATE
TRUNCATE escrow.currencies CASCADE;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
UPDATE escrow.currencies SET name = 'Japanese Yen' WHERE code = 'JPY' RETURNING code, name;
DELETE FROM escrow.currencies WHERE code = 'GBP' RETURNING code;
ROLLBACK;
SELECT count(*) AS builtin FROM escrow.currencies WHERE builtin;

-- open_account refusals
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.open_account(NULL, 'USD')$$),
  ($$SELECT escrow.open_account('acc-x', NULL)$$),
  ($$SELECT escrow.open_account('acc-x', 'USD', NULL)$$),
  ($$SELECT escrow.open_account('acc-x', 'USD', 'credit', NULL)$$),
  ($$SELECT escrow.open_account('', 'USD')$$),
  ($$SELECT escrow.open_account(repeat('x', 201), 'USD')$$),
  ($$SELECT escrow.open_account('escrow:funding', 'USD', 'system')$$),
  ($$SELECT escrow.open_account('acc-x', 'XYZ')$$),
  ($$SELECT escrow.open_account('acc-x', 'US')$$),
  ($$SELECT escrow.open_account('acc-x', '')$$),
  -- an unknown currency does not create a funding account either
  ($$SELECT escrow.open_account('acc-x', 'GBX')$$),
  ($$SELECT escrow.open_account('acc-x', 'USD', 'savings')$$),
  ($$SELECT escrow.open_account('acc-x', 'USD', 'Deposit')$$),
  ($$SELECT escrow.open_account('acc-x', 'USD', 'credit', -1)$$),
  ($$SELECT escrow.open_account('acc-x', 'USD', 'deposit', 100)$$),
  ($$SELECT escrow.open_account('acc-x', 'USD', 'system', 100)$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT count(*) AS accounts_named_x FROM escrow.accounts WHERE owner = 'acc-x';

-- set_credit_limit: raise and lower a credit line, down to exactly what is
-- used plus held.
SELECT escrow.set_credit_limit(:carol, 8000);
SELECT escrow.withdraw(:carol, 3000) > 0 AS drew_on_the_line;
SELECT escrow.open_account('acc-dave', 'USD') AS dave \gset
SELECT escrow.hold(:carol, :dave, 1500) AS carol_hold \gset
SELECT owner, posted, held, credit_limit, available
  FROM escrow.balances WHERE account = :carol;
SELECT escrow.set_credit_limit(:carol, 4500);
SELECT owner, posted, held, credit_limit, available
  FROM escrow.balances WHERE account = :carol;

-- set_credit_limit refusals
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.set_credit_limit(%s, 4499)$$, :'carol')),
  (format($$SELECT escrow.set_credit_limit(%s, 0)$$, :'carol')),
  ($$SELECT escrow.set_credit_limit(NULL, 100)$$),
  (format($$SELECT escrow.set_credit_limit(%s, NULL)$$, :'carol')),
  (format($$SELECT escrow.set_credit_limit(%s, -1)$$, :'carol')),
  ($$SELECT escrow.set_credit_limit(999999, 100)$$),
  (format($$SELECT escrow.set_credit_limit(%s, 100)$$, :'alice')),
  (format($$SELECT escrow.set_credit_limit(%s, 100)$$, :'clearing'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Releasing the hold frees the line again; an unused line can go to 0.
SELECT escrow.release(:carol_hold);
SELECT escrow.set_credit_limit(:carol, 3000);
SELECT escrow.open_account('acc-erin', 'USD', 'credit', 700) AS erin \gset
SELECT escrow.set_credit_limit(:erin, 0);
-- a credit account with no line cannot draw
SELECT escrow.withdraw(:erin, 1);
\echo :LAST_ERROR_SQLSTATE

-- balances: available = posted + credit_limit - held, for every kind
SELECT escrow.deposit(:alice, 2500) > 0 AS deposited;
SELECT escrow.hold(:alice, :bob, 1000) > 0 AS held;
SELECT escrow.transfer(:clearing, :bob, 300) > 0 AS clearing_paid;
SELECT owner, kind, currency, posted, held, credit_limit, available
  FROM escrow.balances WHERE owner LIKE 'acc-%' ORDER BY owner, currency;
-- the view is the folded row plus the legs waiting unfolded that the row
-- has not seen; once folded, the row alone
SELECT b.posted = a.posted + coalesce(u.amount, 0) AND b.held = a.held
       AND b.credit_limit = a.credit_limit
       AND b.available = a.posted + coalesce(u.amount, 0) + a.credit_limit - a.held AS view_matches_table
  FROM escrow.balances b JOIN escrow.accounts a ON a.id = b.account
  LEFT JOIN (SELECT account, sum(amount) AS amount FROM escrow.unfolded
              WHERE NOT applied GROUP BY account) u ON u.account = a.id
 GROUP BY 1;
SELECT count(*) > 0 AS credits_waiting FROM escrow.unfolded WHERE NOT applied;
SELECT escrow.fold_journal() > 0 AS folded;
SELECT count(*) AS waiting FROM escrow.unfolded;
SELECT bool_and(b.posted = a.posted AND b.available = a.posted + a.credit_limit - a.held)
       AS folded_view_is_table
  FROM escrow.balances b JOIN escrow.accounts a ON a.id = b.account;

SELECT * FROM escrow.verify_ledger();
