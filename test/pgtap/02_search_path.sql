-- 02_search_path.sql: a hostile schema in front of the caller's search_path
-- must not change what the escrow functions do.  Each SECURITY DEFINER
-- function pins search_path = pg_catalog, pg_temp and uses qualified names,
-- so tables, functions, aggregates and operators that shadow the names
-- escrowpay uses are never reached.
--
-- Every hostile function records its call in attacker.calls; after money
-- has moved with the hostile path set, that table must be empty, the
-- balances and journal must be exactly right and verify_ledger() clean.
-- The hostile path is tried as the schema usually sits (pg_catalog
-- implicitly first: attacker, public, escrow) and with pg_catalog moved
-- behind the attacker and temp tables in front, where the shadows do win
-- for unqualified names (checked below, so the shadows are known to work).
--
-- Run by pg_prove as the superuser postgres; everything is rolled back.

\ir include/begin.sql
SELECT plan(18);

----------------------------------------------------------- the attacker
\ir include/attacker.sql

-- tables with the names of escrowpay's, full of wrong data
CREATE TABLE attacker.accounts (id bigint, owner text, kind text, currency text,
    posted bigint, held bigint, credit_limit bigint, created_at timestamptz);
INSERT INTO attacker.accounts
SELECT g, 'attacker', 'system', 'EUR', 1000000000, 0, 1000000000, now()
  FROM generate_series(1, 1000) g;
CREATE TABLE attacker.currencies (code text, exponent smallint, name text, builtin boolean);
INSERT INTO attacker.currencies VALUES ('XXX', 2, 'attacker', true);
CREATE TABLE attacker.transfers (id bigint, kind text, debit_account bigint,
    credit_account bigint, amount bigint, refunded bigint, hold_id bigint,
    refund_of bigint, created_at timestamptz);
CREATE TABLE attacker.entries (account bigint, seq bigint, transfer_id bigint,
    amount bigint, balance bigint, hash bytea);
CREATE TABLE attacker.holds (id bigint, debit_account bigint, credit_account bigint,
    amount bigint, captured bigint, released bigint, status text,
    expires_at timestamptz, created_at timestamptz, ended_at timestamptz);
CREATE TABLE attacker.idempotency_keys (key text, request text, result bigint,
    created_at timestamptz);
GRANT SELECT ON ALL TABLES IN SCHEMA attacker TO PUBLIC;

-- functions with the names of built-ins escrowpay (or its views) use
CREATE FUNCTION attacker.upper(text) RETURNS text LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('upper(text)'); SELECT 'XXX'::text $$;
CREATE FUNCTION attacker.hashtext(text) RETURNS integer LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('hashtext(text)'); SELECT 0 $$;
CREATE FUNCTION attacker.nextval(regclass) RETURNS bigint LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('nextval(regclass)'); SELECT 1::bigint $$;
CREATE FUNCTION attacker.encode(bytea, text) RETURNS text LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('encode(bytea,text)'); SELECT 'forged'::text $$;
CREATE FUNCTION attacker.format(text, text) RETURNS text LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('format(text,text)'); SELECT 'forged'::text $$;
CREATE FUNCTION attacker.entry_hash(bytea, bigint, bigint, bigint, bigint, bigint)
  RETURNS bytea LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('entry_hash'); SELECT '\x00'::bytea $$;
-- an aggregate sum(bigint) that always says 0
CREATE FUNCTION attacker.zero(bigint, bigint) RETURNS bigint LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('sum(bigint)'); SELECT 0::bigint $$;
CREATE AGGREGATE attacker.sum(bigint) (sfunc = attacker.zero, stype = bigint, initcond = '0');
-- operators on bigint: = and >= always true, <> always false, + and - ignore
-- the right operand
CREATE FUNCTION attacker.yes(bigint, bigint) RETURNS boolean LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('operator yes'); SELECT true $$;
CREATE FUNCTION attacker.no(bigint, bigint) RETURNS boolean LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('operator no'); SELECT false $$;
CREATE FUNCTION attacker.lhs(bigint, bigint) RETURNS bigint LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('operator lhs'); SELECT $1 $$;
CREATE OPERATOR attacker.=  (leftarg = bigint, rightarg = bigint, function = attacker.yes);
CREATE OPERATOR attacker.>= (leftarg = bigint, rightarg = bigint, function = attacker.yes);
CREATE OPERATOR attacker.<= (leftarg = bigint, rightarg = bigint, function = attacker.yes);
CREATE OPERATOR attacker.<> (leftarg = bigint, rightarg = bigint, function = attacker.no);
CREATE OPERATOR attacker.+  (leftarg = bigint, rightarg = bigint, function = attacker.lhs);
CREATE OPERATOR attacker.-  (leftarg = bigint, rightarg = bigint, function = attacker.lhs);
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA attacker TO PUBLIC;

-- The shadows work where they can: with pg_catalog behind attacker they win
-- for an unqualified call (so the checks below are not vacuous).
SET LOCAL search_path = attacker, pg_catalog;
SELECT upper('eur') AS shadowed_upper, (1::bigint + 41::bigint) AS shadowed_plus \gset
RESET search_path;
SELECT is(:'shadowed_upper' || '/' || :'shadowed_plus', 'XXX/1',
  'with pg_catalog behind attacker, upper() and bigint + are the attacker''s');
TRUNCATE attacker.calls;

------------------------------- money moves with the hostile search_path
-- as the application role, pg_catalog implicitly first
SET ROLE escrow_app;
SET search_path = attacker, public, escrow;
\set tag sp
\set currency eur
\set dep_key sp-dep
\ir include/money_moved.sql
-- the deposit again, with its key: the first one's result
SELECT escrow.deposit(:buyer, 1000, 'sp-dep') AS dep_again \gset
SELECT available AS app_view_available FROM escrow.balances WHERE account = :buyer \gset
RESET search_path;
RESET ROLE;

-- as the owner, pg_catalog explicitly behind the attacker and temp tables
-- named like escrowpay's in front of everything
CREATE TEMP TABLE accounts AS SELECT * FROM attacker.accounts LIMIT 10;
CREATE TEMP TABLE transfers AS SELECT * FROM attacker.transfers;
CREATE TEMP TABLE holds AS SELECT * FROM attacker.holds;
SET search_path = pg_temp, attacker, pg_catalog, public, escrow;
SELECT escrow.open_account('sp-credit', 'EUR', 'credit', 500) AS credit \gset
SELECT escrow.set_credit_limit(:credit, 400) \gset
SELECT escrow.hold(:credit, :seller, 150, '1 millisecond') AS hold2 \gset
SELECT escrow.hold(:credit, :seller, 120) AS hold3 \gset
SELECT escrow.capture(:hold3, NULL, NULL, true) AS cap3 \gset
SELECT escrow.transfer(:seller, :buyer, 5) AS xfer2 \gset
SELECT pg_catalog.pg_sleep(0.01) \gset
SELECT escrow.expire_holds() AS expired \gset
SELECT count(*) AS problems_hostile FROM escrow.verify_ledger() \gset
SELECT available AS owner_view_available FROM escrow.balances WHERE account = :credit \gset
RESET search_path;

--------------------------------------------------------------- results
-- folded, so that accounts.posted, the entries and the chain heads are final
SELECT escrow.fold_journal() AS folded_legs \gset
SELECT is_empty('SELECT what FROM attacker.calls',
  'no attacker function, aggregate or operator was ever called');
SELECT is(:dep_again::bigint, :dep::bigint,
  'idempotent deposit returned the first transfer id under the hostile path');
SELECT is(:released::bigint, 100::bigint, 'release returned what remained of the hold');
SELECT cmp_ok(:expired::integer, '>=', 1, 'expire_holds swept the expired hold');
SELECT is(:problems_hostile::bigint, 0::bigint,
  'verify_ledger under the hostile path found no problem');
SELECT is(:app_view_available::bigint, 740::bigint,
  'the balances view read under the hostile path was right');
SELECT is(:owner_view_available::bigint, 280::bigint,
  'the balances view read under the hostile path was right for the credit line');
SELECT results_eq(
  format('SELECT owner::text, kind::text, currency, posted, held, credit_limit FROM escrow.accounts '
         'WHERE id IN (%s, %s, %s) ORDER BY id', :buyer, :seller, :credit),
  $$ VALUES ('sp-buyer', 'deposit', 'EUR', 745::bigint, 0::bigint, 0::bigint),
            ('sp-seller', 'deposit', 'EUR', 365::bigint, 0::bigint, 0::bigint),
            ('sp-credit', 'credit', 'EUR', -120::bigint, 0::bigint, 400::bigint) $$,
  'balances, holds and limits are exactly right');
SELECT results_eq(
  format('SELECT kind::text, debit_account, credit_account, amount::bigint, refunded FROM escrow.transfers '
         'WHERE id IN (%s, %s, %s, %s, %s, %s, %s) ORDER BY id',
         :dep, :xfer, :cap, :ref, :wd, :cap3, :xfer2),
  format('VALUES (''deposit'', %1$s::bigint, %2$s::bigint, 1000::bigint, 0::bigint), '
         '       (''transfer'', %2$s, %3$s, 100, 0), (''capture'', %2$s, %3$s, 200, 50), '
         '       (''refund'', %3$s, %2$s, 50, 0), (''withdraw'', %2$s, %1$s, 10, 0), '
         '       (''capture'', %4$s, %3$s, 120, 0), (''transfer'', %3$s, %2$s, 5, 0)',
         (SELECT id FROM escrow.accounts WHERE currency = 'EUR' AND owner = 'escrow:funding'),
         :buyer, :seller, :credit),
  'the transfers are exactly the calls made');
SELECT is((SELECT count(*) FROM escrow.transfers
            WHERE :buyer IN (debit_account, credit_account)), 6::bigint,
  'the buyer has exactly 6 transfers (the idempotent repeat added none)');
SELECT results_eq(
  format('SELECT status::text, amount::bigint, captured, released FROM escrow.holds '
         'WHERE id IN (%s, %s, %s) ORDER BY id', :hold, :hold2, :hold3),
  $$ VALUES ('released', 300::bigint, 200::bigint, 100::bigint),
            ('expired', 150::bigint, 0::bigint, 150::bigint),
            ('captured', 120::bigint, 120::bigint, 0::bigint) $$,
  'the holds ended as they should');
SELECT is((SELECT count(*) FROM escrow.entries e
             JOIN escrow.transfers t ON t.id = e.transfer_id
            WHERE e.account = :buyer AND t.kind IN ('deposit', 'transfer', 'capture', 'refund', 'withdraw')),
          6::bigint, 'one journal entry per buyer transfer');
SELECT is((SELECT max(seq) FROM escrow.entries WHERE account = :buyer), 6::bigint,
  'the buyer''s hash chain advanced 6 times');
SELECT is((SELECT result FROM escrow.idempotency_keys WHERE key = 'sp-dep'), :dep::bigint,
  'the idempotency key stores the deposit''s id');
SELECT is((SELECT count(*) FROM attacker.accounts WHERE owner <> 'attacker'), 0::bigint,
  'nothing was written to the attacker''s tables');
SELECT is_empty('SELECT * FROM escrow.verify_ledger()', 'verify_ledger finds nothing wrong');
SELECT is_empty('SELECT what FROM attacker.calls',
  'still no attacker object called');

SELECT * FROM finish();
ROLLBACK;
