-- 01_privileges.sql: roles, SECURITY DEFINER functions with a pinned
-- search_path, no PUBLIC access, what escrow_app / escrow_auditor may and
-- may not do, and the append-only journal (refused even for the owner).
--
-- Run by pg_prove as the superuser postgres (the extension's owner) in a
-- database where pgtap and escrowpay exist; everything is rolled back.
-- Ids come from sequences shared with other tests, so they are captured
-- with \gset and never written literally.

\ir include/begin.sql
SELECT plan(93);

-------------------------------------------------------------------- roles
SELECT has_role('escrow_admin');
SELECT has_role('escrow_app');
SELECT has_role('escrow_auditor');

------------------------------------------------------- function catalogue
-- the public API exists with the documented signatures
SELECT has_function('escrow', 'open_account', ARRAY['text', 'text', 'text', 'bigint']);
SELECT has_function('escrow', 'deposit', ARRAY['bigint', 'bigint', 'text']);
SELECT has_function('escrow', 'withdraw', ARRAY['bigint', 'bigint', 'text']);
SELECT has_function('escrow', 'transfer', ARRAY['bigint', 'bigint', 'bigint', 'text']);
SELECT has_function('escrow', 'set_credit_limit', ARRAY['bigint', 'bigint']);
SELECT has_function('escrow', 'hold', ARRAY['bigint', 'bigint', 'bigint', 'interval', 'text']);
SELECT has_function('escrow', 'capture', ARRAY['bigint', 'bigint', 'text', 'boolean']);
SELECT has_function('escrow', 'release', ARRAY['bigint', 'text']);
SELECT has_function('escrow', 'refund', ARRAY['bigint', 'bigint', 'text']);
SELECT has_function('escrow', 'expire_holds', ARRAY['integer']);
SELECT has_function('escrow', 'verify_ledger', ARRAY[]::text[]);

-- every function in the schema (also ones added later) is SECURITY DEFINER,
-- except the journal trigger and pure (IMMUTABLE) functions such as the
-- hash step and the transition table
SELECT is_empty(
  $$ SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'escrow'::regnamespace
        AND p.proname <> 'journal_guard' AND p.provolatile <> 'i'
        AND NOT p.prosecdef $$,
  'every escrow function but journal_guard and IMMUTABLE ones is SECURITY DEFINER');
SELECT isnt_definer('escrow', 'journal_guard', ARRAY[]::text[]);
SELECT isnt_definer('escrow', 'entry_hash',
                    ARRAY['bytea', 'bigint', 'bigint', 'bigint', 'text', 'bigint',
                          'bigint', 'bigint', 'bigint', 'bigint']);
SELECT cmp_ok(
  (SELECT count(*) FROM pg_catalog.pg_proc p
    WHERE p.pronamespace = 'escrow'::regnamespace AND p.prosecdef),
  '>=', 11::bigint, 'at least the 11 API functions are SECURITY DEFINER');

-- ... and each of them pins search_path = pg_catalog, pg_temp
SELECT is_empty(
  $$ SELECT p.oid::regprocedure::text, p.proconfig FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'escrow'::regnamespace AND p.prosecdef
        AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false) $$,
  'every SECURITY DEFINER escrow function has search_path=pg_catalog, pg_temp');
SELECT is_empty(
  $$ SELECT p.oid::regprocedure::text, s FROM pg_catalog.pg_proc p,
            unnest(p.proconfig) s
      WHERE p.pronamespace = 'escrow'::regnamespace
        AND s LIKE 'search_path=%' AND s <> 'search_path=pg_catalog, pg_temp' $$,
  'no escrow function sets any other search_path');

------------------------------------------------------------ PUBLIC access
SELECT is_empty(
  $$ SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'escrow'::regnamespace
        AND has_function_privilege('public', p.oid, 'EXECUTE') $$,
  'PUBLIC cannot EXECUTE any escrow function (has_function_privilege)');
SELECT is_empty(
  $$ SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'escrow'::regnamespace
        AND (p.proacl IS NULL    -- NULL = default ACL = EXECUTE for PUBLIC
             OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                         WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')) $$,
  'no escrow function has an ACL granting EXECUTE to PUBLIC (aclexplode)');
SELECT is_empty(
  $$ SELECT c.oid::regclass::text FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'escrow'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND has_table_privilege('public', c.oid,
              'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') $$,
  'PUBLIC has no privilege on any escrow table or view');
SELECT is_empty(
  $$ SELECT c.oid::regclass::text FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'escrow'::regnamespace AND c.relacl IS NOT NULL
        AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0) $$,
  'no escrow relation has an ACL entry for PUBLIC (aclexplode)');
SELECT is_empty(
  $$ SELECT c.oid::regclass::text FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'escrow'::regnamespace AND c.relkind = 'S'
        AND CASE WHEN c.relkind = 'S'   -- has_sequence_privilege() errors on non-sequences
                 THEN has_sequence_privilege('public', c.oid, 'USAGE, SELECT, UPDATE') END $$,
  'PUBLIC has no privilege on any escrow sequence');

-- nobody but the owner may create objects in the schema (shadowing)
SELECT is_empty(
  $$ SELECT r FROM unnest(ARRAY['public', 'escrow_admin', 'escrow_app', 'escrow_auditor']) r
      WHERE has_schema_privilege(r, 'escrow', 'CREATE') $$,
  'no role but the owner has CREATE on schema escrow');

---------------------------------------------- table privileges, catalogue
SELECT is_empty(
  $$ SELECT r, c.oid::regclass::text
       FROM pg_catalog.pg_class c,
            unnest(ARRAY['public', 'escrow_admin', 'escrow_app', 'escrow_auditor']) r
      WHERE c.relnamespace = 'escrow'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND has_table_privilege(r, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') $$,
  'no escrow role may write (INSERT/UPDATE/DELETE/TRUNCATE) any escrow table or view');
SELECT is_empty(
  $$ SELECT r, c.oid::regclass::text
       FROM pg_catalog.pg_class c,
            unnest(ARRAY['escrow_admin', 'escrow_app', 'escrow_auditor']) r
      WHERE c.relnamespace = 'escrow'::regnamespace AND c.relkind = 'S'
        AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(r, c.oid, 'USAGE, UPDATE') END $$,
  'no escrow role may advance an escrow sequence');
SELECT table_privs_are('escrow', 'accounts', 'escrow_app', ARRAY[]::text[]);
SELECT table_privs_are('escrow', 'transfers', 'escrow_app', ARRAY[]::text[]);
SELECT table_privs_are('escrow', 'entries', 'escrow_app', ARRAY[]::text[]);
SELECT table_privs_are('escrow', 'holds', 'escrow_app', ARRAY[]::text[]);
SELECT table_privs_are('escrow', 'idempotency_keys', 'escrow_app', ARRAY[]::text[]);
SELECT table_privs_are('escrow', 'currencies', 'escrow_app', ARRAY['SELECT']);
SELECT table_privs_are('escrow', 'balances', 'escrow_auditor', ARRAY['SELECT']);
SELECT table_privs_are('escrow', 'open_holds', 'escrow_auditor', ARRAY['SELECT']);
SELECT table_privs_are('escrow', 'journal', 'escrow_auditor', ARRAY['SELECT']);
SELECT table_privs_are('escrow', 'accounts', 'escrow_auditor', ARRAY[]::text[]);

------------------------------------------------ escrow_app moves money
SET ROLE escrow_app;
\set tag tap
\set currency EUR
\set dep_key ''
\ir include/money_moved.sql
SELECT is(:released::bigint, 100::bigint, 'escrow_app: release returns what remained of the hold');
SELECT results_eq(
  format('SELECT owner, posted, held, available FROM escrow.balances WHERE account IN (%s, %s) ORDER BY account',
         :buyer, :seller),
  $$ VALUES ('tap-buyer', 740::bigint, 0::bigint, 740::bigint),
            ('tap-seller', 250::bigint, 0::bigint, 250::bigint) $$,
  'escrow_app: open_account/deposit/transfer/hold/capture/release/refund/withdraw work');
SELECT results_eq(
  format('SELECT kind, amount FROM escrow.journal WHERE account = %s ORDER BY seq', :buyer),
  $$ VALUES ('deposit', 1000::bigint), ('transfer', -100::bigint), ('capture', -200::bigint),
            ('refund', 50::bigint), ('withdraw', -10::bigint) $$,
  'escrow_app: reads its journal through the view');
SELECT lives_ok('SELECT * FROM escrow.open_holds', 'escrow_app can read open_holds');
SELECT lives_ok('SELECT * FROM escrow.currencies', 'escrow_app can read currencies');

-- ... but writes no table directly
SELECT throws_ok(
  $$ INSERT INTO escrow.accounts (owner, kind, currency, posted) VALUES ('x', 'deposit', 'EUR', 10) $$,
  '42501', NULL, 'escrow_app cannot INSERT into accounts');
SELECT throws_ok(format('UPDATE escrow.accounts SET posted = posted + 1000 WHERE id = %s', :buyer),
  '42501', NULL, 'escrow_app cannot UPDATE accounts');
SELECT throws_ok(format('DELETE FROM escrow.holds WHERE id = %s', :hold),
  '42501', NULL, 'escrow_app cannot DELETE from holds');
SELECT throws_ok('TRUNCATE escrow.idempotency_keys',
  '42501', NULL, 'escrow_app cannot TRUNCATE idempotency_keys');
SELECT throws_ok(
  format('INSERT INTO escrow.entries (account, seq, transfer_id, amount, balance, hash) '
         'VALUES (%s, 99, 99, 1, 1, ''\x00'')', :buyer),
  '42501', NULL, 'escrow_app cannot INSERT into entries');
SELECT throws_ok(format('UPDATE escrow.transfers SET refunded = 0 WHERE id = %s', :cap),
  '42501', NULL, 'escrow_app cannot UPDATE transfers');
SELECT throws_ok('TRUNCATE escrow.transfers',
  '42501', NULL, 'escrow_app cannot TRUNCATE transfers');
SELECT throws_ok($$ INSERT INTO escrow.currencies (code, exponent, name) VALUES ('XTS', 2, 'test') $$,
  '42501', NULL, 'escrow_app cannot INSERT into currencies');
-- balances sums balance shards, so it is not updatable at all (55000)
SELECT throws_ok(format('UPDATE escrow.balances SET posted = 1 WHERE account = %s', :buyer),
  '55000', NULL, 'escrow_app cannot UPDATE through the balances view');
SELECT throws_ok('SELECT * FROM escrow.accounts',
  '42501', NULL, 'escrow_app cannot read the accounts table itself');
SELECT throws_ok($$ SELECT nextval('escrow.transfer_id_seq') $$,
  '42501', NULL, 'escrow_app cannot advance transfer_id_seq');
SELECT throws_ok(format('SELECT escrow.set_credit_limit(%s, 1)', :buyer),
  '42501', 'permission denied for function set_credit_limit', 'escrow_app cannot set credit limits');
SELECT throws_ok('SELECT escrow.expire_holds()',
  '42501', 'permission denied for function expire_holds', 'escrow_app cannot run expire_holds');
SELECT throws_ok($$ SELECT escrow.entry_hash('\x00', 1, 1, 1, 'transfer', 1, 1, 1, 0, 0) $$,
  '42501', 'permission denied for function entry_hash', 'escrow_app cannot call entry_hash');
RESET ROLE;

----------------------------------------------------- escrow_auditor reads
SET ROLE escrow_auditor;
SELECT results_eq(
  format('SELECT owner, posted FROM escrow.balances WHERE account IN (%s, %s) ORDER BY account',
         :buyer, :seller),
  $$ VALUES ('tap-buyer', 740::bigint), ('tap-seller', 250::bigint) $$,
  'escrow_auditor can read balances');
SELECT lives_ok('SELECT * FROM escrow.open_holds', 'escrow_auditor can read open_holds');
SELECT is((SELECT count(*) FROM escrow.journal WHERE transfer = :cap), 2::bigint,
  'escrow_auditor can read the journal');
SELECT is_empty('SELECT * FROM escrow.verify_ledger()',
  'escrow_auditor can run verify_ledger (and it finds nothing wrong)');
SELECT throws_ok('SELECT * FROM escrow.transfers',
  '42501', NULL, 'escrow_auditor cannot read the transfers table itself');
SELECT throws_ok($$ SELECT escrow.open_account('aud', 'EUR') $$,
  '42501', 'permission denied for function open_account', 'escrow_auditor cannot open_account');
SELECT throws_ok(format('SELECT escrow.deposit(%s, 1)', :buyer),
  '42501', 'permission denied for function deposit', 'escrow_auditor cannot deposit');
SELECT throws_ok(format('SELECT escrow.withdraw(%s, 1)', :buyer),
  '42501', 'permission denied for function withdraw', 'escrow_auditor cannot withdraw');
SELECT throws_ok(format('SELECT escrow.transfer(%s, %s, 1)', :buyer, :seller),
  '42501', 'permission denied for function transfer', 'escrow_auditor cannot transfer');
SELECT throws_ok(format('SELECT escrow.hold(%s, %s, 1)', :buyer, :seller),
  '42501', 'permission denied for function hold', 'escrow_auditor cannot hold');
SELECT throws_ok(format('SELECT escrow.capture(%s)', :hold),
  '42501', 'permission denied for function capture', 'escrow_auditor cannot capture');
SELECT throws_ok(format('SELECT escrow.release(%s)', :hold),
  '42501', 'permission denied for function release', 'escrow_auditor cannot release');
SELECT throws_ok(format('SELECT escrow.refund(%s, 1)', :cap),
  '42501', 'permission denied for function refund', 'escrow_auditor cannot refund');
SELECT throws_ok(format('SELECT escrow.set_credit_limit(%s, 1)', :buyer),
  '42501', 'permission denied for function set_credit_limit', 'escrow_auditor cannot set credit limits');
RESET ROLE;

-- escrow_admin: the administrative functions
SET ROLE escrow_admin;
SELECT lives_ok('SELECT escrow.expire_holds()', 'escrow_admin can run expire_holds');
SELECT is_empty('SELECT * FROM escrow.verify_ledger()', 'escrow_admin can run verify_ledger');
RESET ROLE;

-------------------------------- append-only journal, even for the owner
SELECT is(current_user::text, 'postgres', 'back to the owner (superuser postgres)');
-- folded first, so that the entries below exist (credits wait unfolded)
SELECT escrow.fold_journal() AS folded_legs \gset
-- every change of the journal is refused
SELECT throws_ok(q, '42501', 'the escrowpay journal is append-only', 'owner cannot ' || what)
  FROM (VALUES
  (format('UPDATE escrow.entries SET amount = amount WHERE transfer_id = %s', :xfer),
   'UPDATE entries (not even a no-op)'),
  (format('UPDATE escrow.entries SET balance = balance + 1 WHERE transfer_id = %s', :xfer),
   'UPDATE an entry''s balance'),
  (format('DELETE FROM escrow.entries WHERE transfer_id = %s', :xfer),
   'DELETE entries'),
  ('TRUNCATE escrow.entries',
   'TRUNCATE entries'),
  (format('UPDATE escrow.transfers SET amount = amount + 1 WHERE id = %s', :xfer),
   'UPDATE a transfer''s amount'),
  (format('UPDATE escrow.transfers SET credit_account = %s WHERE id = %s', :seller, :dep),
   'redirect a transfer'),
  (format('DELETE FROM escrow.transfers WHERE id = %s', :xfer),
   'DELETE transfers'),
  ('TRUNCATE escrow.transfers',
   'TRUNCATE transfers'),
  ('TRUNCATE escrow.transfers, escrow.entries CASCADE',
   'TRUNCATE the journal with CASCADE'),
  -- refunded: 50 of the capture of 200 is refunded so far
  (format('UPDATE escrow.transfers SET refunded = refunded - 1 WHERE id = %s', :cap),
   'lower refunded'),
  (format('UPDATE escrow.transfers SET refunded = 0 WHERE id = %s', :cap),
   'reset refunded to 0'),
  (format('UPDATE escrow.transfers SET refunded = NULL WHERE id = %s', :cap),
   'set refunded to NULL'),
  (format('UPDATE escrow.transfers SET refunded = amount + 1 WHERE id = %s', :cap),
   'raise refunded above the amount'),
  (format('UPDATE escrow.transfers SET refunded = refunded + 1, amount = amount + 1 WHERE id = %s', :cap),
   'change refunded together with the amount')
) AS t (q, what);
SELECT is((SELECT refunded FROM escrow.transfers WHERE id = :cap), 50::bigint,
  'refunded is unchanged after the refused updates');
SELECT is_empty('SELECT * FROM escrow.verify_ledger()', 'the ledger is intact after the refused changes');

-- Only refund() moves refunded: a direct upward change within the amount
-- is refused too.
SELECT throws_ok(format('UPDATE escrow.transfers SET refunded = refunded + 1 WHERE id = %s', :cap),
  '42501', NULL, 'owner cannot raise refunded directly (only refund() may)');

-- What the trigger cannot stop (a superuser skipping triggers) the
-- journal's invariants and hash chains reveal.
ALTER TABLE escrow.entries DISABLE TRIGGER entries_append_only;
UPDATE escrow.entries SET amount = amount + 1, balance = balance + 1
 WHERE transfer_id = :xfer AND account = :seller;
ALTER TABLE escrow.entries ENABLE ALWAYS TRIGGER entries_append_only;
SELECT isnt_empty('SELECT * FROM escrow.verify_ledger()',
  'verify_ledger reports an entry changed with triggers disabled');
SELECT ok(EXISTS (SELECT 1 FROM escrow.verify_ledger() WHERE problem = 'chain_hash'),
  'verify_ledger reports the broken hash chain');

SELECT * FROM finish();
ROLLBACK;
