-- 03_deals_security.sql: the deal lifecycle's secrets and privileges.
--
--   * the keys are in the server's key file (escrowpay.hmac_key_file, a
--     superuser-only setting of the server configuration): there is no
--     escrowpay.hmac_key to plant or read, no session (not even a
--     superuser's) points the file elsewhere, and the application role can
--     neither read the setting (SHOW, current_setting, pg_settings) nor the
--     file (pg_read_file);
--   * identity codes are stored only as HMAC-SHA256(key, deal || ':' || code)
--     under the file's first key, with its id: no column of any escrow table
--     holds a code (issued, wrong or right), nor its unkeyed SHA-256;
--     deal_events payloads do not carry it; a code with a blank added is
--     wrong;
--   * wrong codes lock the deal out after escrowpay.max_code_attempts: then
--     even the right code gets EP008, also a newly issued one (the count is
--     per deal; the deal is cancelled instead); an expired code gets EP008;
--   * every lifecycle function (one per non-system action of the transition
--     table, plus issue_identity_code, register_*, run_maintenance): no
--     EXECUTE for PUBLIC, escrow_auditor or escrow_party (calls fail with
--     42501); escrow_app runs all but resolve_dispute and run_maintenance;
--   * a party's login role (member of escrow_party) sees only its own deals
--     and their events (row-level security, also against a leaky function),
--     never the code columns, parties or balances;
--   * a hostile search_path (attacker schema with tables, functions and
--     operators shadowing what the deal code uses) changes nothing in
--     open_deal / identity codes / reserve / confirm_inspection.
--
-- Run by pg_prove as the superuser postgres in a database with pgtap and
-- escrowpay, on a server with escrowpay in shared_preload_libraries and a
-- key file (scripts/cluster.sh); everything is rolled back (roles created
-- here too).

\ir include/begin.sql
SELECT plan(79);

-- Columns of escrow tables holding the text (any column read as text) or
-- one of the byte strings (bytea columns); read as the superuser, so
-- row-level security does not hide rows.
CREATE FUNCTION pg_temp.columns_containing(needle text, bins bytea[])
RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
  c record;
  n bigint;
BEGIN
  FOR c IN SELECT a.attrelid::regclass::text AS rel, a.attname::text AS col,
                  a.atttypid = 'bytea'::regtype AS is_bytea
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_class r ON r.oid = a.attrelid
            WHERE r.relnamespace = 'escrow'::regnamespace AND r.relkind IN ('r', 'p')
              AND a.attnum > 0 AND NOT a.attisdropped
  LOOP
    IF c.is_bytea THEN
      EXECUTE format('SELECT count(*) FROM %s t, unnest($2) b(v) '
                     ' WHERE position(b.v IN t.%I) > 0 '
                     '    OR position(convert_to($1, ''UTF8'') IN t.%I) > 0',
                     c.rel, c.col, c.col)
        INTO n USING needle, bins;
    ELSE
      EXECUTE format('SELECT count(*) FROM %s t WHERE strpos(t.%I::text, $1) > 0',
                     c.rel, c.col)
        INTO n USING needle;
    END IF;
    IF n > 0 THEN
      RETURN NEXT c.rel || '.' || c.col;
    END IF;
  END LOOP;
END $f$;

------------------------------------------- no key in any setting
-- escrowpay.hmac_key no longer exists (the prefix is reserved): nobody can
-- plant a key in it, as a placeholder or otherwise
SET client_min_messages = error;
SET ROLE escrow_app;
SELECT pg_temp.sqlstate_of($$ SET escrowpay.hmac_key = 'attacker-key-0123456789' $$)
    AS app_set \gset
RESET ROLE;
SET client_min_messages = warning;
SELECT is(:'app_set'::text, '42602', 'escrow_app cannot SET escrowpay.hmac_key: it does not exist');
SELECT is(pg_temp.sqlstate_of($$ SET escrowpay.hmac_key = 'superuser-key-0123456789' $$), '42602',
  'nor can a superuser session');

----------------------------------------------------------- parties, deals
-- login roles of parties (rolled back with everything else)
CREATE ROLE tap_sec_buyer1 LOGIN IN ROLE escrow_party;
CREATE ROLE tap_sec_buyer2 LOGIN IN ROLE escrow_party;
CREATE ROLE tap_sec_merchant LOGIN IN ROLE escrow_party;
CREATE ROLE tap_sec_stranger LOGIN IN ROLE escrow_party;    -- no party

SET ROLE escrow_app;
SELECT escrow.open_account('sec-b1', 'EUR') AS acc_b1 \gset
SELECT escrow.open_account('sec-b2', 'EUR') AS acc_b2 \gset
SELECT escrow.open_account('sec-m', 'EUR') AS acc_m \gset
SELECT escrow.open_account('sec-fee', 'EUR') AS acc_fee \gset
SELECT escrow.deposit(:acc_b1, 100000) \gset
SELECT escrow.deposit(:acc_b2, 100000) \gset
SELECT escrow.register_member('SEC-B1', 'Buyer one', 'b1@example.org', :acc_b1, 'tap_sec_buyer1') \gset
SELECT escrow.register_member('SEC-B2', 'Buyer two', 'b2@example.org', :acc_b2, 'tap_sec_buyer2') \gset
SELECT escrow.register_merchant('SEC-M', 'Shop', 'shop@example.org', :acc_m,
                                '3 days', '8 days', 250, :acc_fee, 'tap_sec_merchant') \gset
SELECT escrow.open_deal('SEC-B1', 'SEC-M', 1000) AS d1 \gset
SELECT escrow.open_deal('SEC-B2', 'SEC-M', 500) AS d2 \gset
SELECT escrow.open_deal('SEC-B1', 'SEC-M', 300) AS d3 \gset
RESET ROLE;

------------------------------------------ the key file is the server's
-- the first key of the file (read as the superuser): its id and secret
SELECT m[1] AS key_id, m[2] AS hmac_key
  FROM regexp_match(pg_read_file(current_setting('escrowpay.hmac_key_file')),
                    '^([A-Za-z0-9_-]+)[ \t]+([^ \t\n]+)', 'n') m \gset
SELECT throws_ok($$ SET LOCAL escrowpay.hmac_key_file = '/tmp/session-keys' $$, '55P02', NULL,
  'not even a superuser session points escrowpay.hmac_key_file elsewhere (SET)');
SELECT throws_ok($$ SELECT set_config('escrowpay.hmac_key_file', '/tmp/session-keys', true) $$,
  '55P02', NULL, '... nor with set_config()');

SET ROLE escrow_app;
SELECT throws_ok('SHOW escrowpay.hmac_key_file', '42501', NULL,
  'escrow_app cannot SHOW escrowpay.hmac_key_file');
SELECT throws_ok($$ SELECT current_setting('escrowpay.hmac_key_file') $$, '42501', NULL,
  'escrow_app cannot read escrowpay.hmac_key_file with current_setting()');
SELECT throws_ok($$ SELECT current_setting('escrowpay.hmac_key_file', true) $$, '42501', NULL,
  'escrow_app cannot read escrowpay.hmac_key_file with current_setting(name, missing_ok)');
SELECT throws_ok($$ SET escrowpay.hmac_key_file = '/tmp/attacker-keys' $$, '55P02', NULL,
  'escrow_app cannot SET escrowpay.hmac_key_file');
SELECT throws_ok($$ SELECT set_config('escrowpay.hmac_key_file', '/tmp/attacker-keys', true) $$,
  '55P02', NULL, 'escrow_app cannot set_config() escrowpay.hmac_key_file');
SELECT throws_ok('RESET escrowpay.hmac_key_file', '55P02', NULL,
  'escrow_app cannot RESET escrowpay.hmac_key_file');
SELECT is_empty($$ SELECT name FROM pg_catalog.pg_settings WHERE name LIKE 'escrowpay.hmac%' $$,
  'escrowpay.hmac_key_file is not in pg_settings for escrow_app');
SELECT is_empty(format(
  'SELECT name FROM pg_catalog.pg_settings WHERE strpos(concat_ws(%L, setting, reset_val, boot_val), %L) > 0',
  '|', :'hmac_key'), 'no row of pg_settings shows the key to escrow_app');
SELECT throws_ok($$ SELECT pg_read_file(current_setting('escrowpay.hmac_key_file', true)) $$,
  '42501', NULL, 'escrow_app cannot read the key file');
RESET ROLE;
SELECT ok(NOT has_parameter_privilege('escrow_app', 'escrowpay.hmac_key_file', 'SET')
          AND NOT has_parameter_privilege('public', 'escrowpay.hmac_key_file', 'SET')
          AND NOT has_parameter_privilege('escrow_admin', 'escrowpay.hmac_key_file', 'SET'),
  'no escrow role (nor PUBLIC) was granted SET on escrowpay.hmac_key_file');

------------------------------------------------ codes: only an HMAC stored
SET ROLE escrow_app;
SELECT escrow.issue_identity_code(:d1) AS code1 \gset
RESET ROLE;
SELECT matches(:'code1'::text, '^[0-9]{8}$', 'the identity code is 8 digits');
SELECT is((SELECT octet_length(code_hmac) FROM escrow.deals WHERE id = :d1), 32,
  'code_hmac is 32 bytes');
SELECT ok((SELECT code_hmac NOT IN (sha256(convert_to(:'code1', 'UTF8')),
                                    sha256(convert_to(:d1 || ':' || :'code1', 'UTF8')))
             FROM escrow.deals WHERE id = :d1),
  'code_hmac is neither sha256(code) nor sha256(deal:code)');
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pgcrypto')
    AS have_pgcrypto \gset
\if :have_pgcrypto
CREATE SCHEMA tap_crypto;
CREATE EXTENSION pgcrypto SCHEMA tap_crypto;
SELECT is((SELECT code_hmac FROM escrow.deals WHERE id = :d1),
          tap_crypto.hmac(:d1 || ':' || :'code1', :'hmac_key', 'sha256'),
  'code_hmac is HMAC-SHA256(first key of the key file, deal || '':'' || code)');
\else
SELECT skip('pgcrypto is not available to recompute the HMAC', 1);
\endif
SELECT is_empty(format('SELECT * FROM pg_temp.columns_containing(%L, ARRAY[sha256(convert_to(%L, ''UTF8'')), sha256(convert_to(%L, ''UTF8''))])',
                       :'code1', :'code1', :d1 || ':' || :'code1'),
  'after issue_identity_code no escrow table column holds the code or its SHA-256');

SELECT is((SELECT code_key_id FROM escrow.deals WHERE id = :d1), :'key_id',
  'code_key_id is the id of the key the code hash was made with');

-- the code with a blank added is wrong (counted as a wrong attempt)
SET ROLE escrow_app;
SELECT is(escrow.confirm_identity(:d1, :'code1' || ' '), false,
  'the right code with a blank added is wrong');
RESET ROLE;

-- a wrong code (distinct from the right one), then the right one
SELECT lpad(((:'code1'::bigint + 1) % 100000000)::text, 8, '0') AS wrong1 \gset
SET ROLE escrow_app;
SELECT is(escrow.confirm_identity(:d1, :'wrong1'), false, 'a wrong code returns false');
SELECT is(escrow.confirm_identity(:d1, :'code1'), true, 'the right code returns true');
SELECT is((SELECT stage FROM escrow.deals WHERE id = :d1), 'identity_confirmed',
  'the deal is identity_confirmed');
RESET ROLE;
SELECT is((SELECT code_hmac FROM escrow.deals WHERE id = :d1), NULL,
  'the HMAC is cleared once the code was used');
SELECT is_empty(format('SELECT * FROM pg_temp.columns_containing(%L, ARRAY[sha256(convert_to(%L, ''UTF8''))]) '
                       'UNION ALL SELECT * FROM pg_temp.columns_containing(%L, ARRAY[]::bytea[])',
                       :'code1', :'code1', :'wrong1'),
  'after confirmation no column holds the right or the wrong code');
SELECT is_empty(format(
  'SELECT id, payload FROM escrow.deal_events WHERE deal = %s '
  '   AND (strpos(payload::text, %L) > 0 OR strpos(payload::text, %L) > 0)',
  :d1, :'code1', :'wrong1'),
  'no deal_events payload carries the right or the wrong code');
SELECT results_eq(
  format('SELECT action, CASE WHEN action = ''open_deal'' THEN NULL ELSE payload END '
         '  FROM escrow.deal_events WHERE deal = %s ORDER BY id', :d1),
  $$ VALUES ('open_deal', NULL::jsonb), ('issue_identity_code', '{"valid_seconds": 900}'::jsonb),
            ('wrong_identity_code', '{"attempt": 1}'), ('wrong_identity_code', '{"attempt": 2}'),
            ('confirm_identity', '{}') $$,
  'the events of the code steps record attempts, never codes');

-------------------------------------------------------------- lockout
SET LOCAL escrowpay.max_code_attempts = 5;
SET ROLE escrow_app;
SELECT escrow.issue_identity_code(:d3) AS code3 \gset
SELECT results_eq(
  format('SELECT escrow.confirm_identity(%s, lpad(((%s::bigint + g) %% 100000000)::text, 8, ''0'')) '
         '  FROM generate_series(1, 5) g', :d3, :'code3'),
  $$ VALUES (false), (false), (false), (false), (false) $$,
  'five wrong codes: false each time');
SELECT throws_ok(format('SELECT escrow.confirm_identity(%s, %L)', :d3, '00000000'), 'EP008',
  NULL, 'a sixth code is refused (EP008)');
SELECT throws_ok(format('SELECT escrow.confirm_identity(%s, %L)', :d3, :'code3'), 'EP008',
  NULL, 'the right code is refused too once the attempts are used up');
SELECT is((SELECT stage FROM escrow.deals WHERE id = :d3), 'order_received',
  'the locked-out deal is still order_received');
RESET ROLE;
SELECT is((SELECT code_attempts FROM escrow.deals WHERE id = :d3), 5,
  'five attempts counted');
SELECT is((SELECT count(*) FROM escrow.deal_events WHERE deal = :d3 AND action = 'wrong_identity_code'),
  5::bigint, 'five wrong_identity_code events');
-- the count is per deal: issuing a new code buys no more guesses
SET ROLE escrow_app;
SELECT escrow.issue_identity_code(:d3) AS code3b \gset
SELECT throws_ok(format('SELECT escrow.confirm_identity(%s, %L)', :d3, :'code3b'), 'EP008',
  NULL, 'a newly issued code does not reset the attempts: still EP008');
SELECT lives_ok(format('SELECT escrow.cancel_deal(%s, %L, %L)', :d3, 'locked out', 'SEC-B1'),
  'the locked deal can be cancelled');
RESET ROLE;
SELECT is_empty(format('SELECT * FROM pg_temp.columns_containing(%L, ARRAY[]::bytea[]) '
                       'UNION ALL SELECT * FROM pg_temp.columns_containing(%L, ARRAY[]::bytea[])',
                       :'code3', :'code3b'),
  'neither of deal 3''s codes is in any column');

-- an expired code: EP008 even when right
SET ROLE escrow_app;
SELECT escrow.issue_identity_code(:d2) AS code2 \gset
RESET ROLE;
UPDATE escrow.deals SET code_expires_at = now() - interval '1 second' WHERE id = :d2;
SET ROLE escrow_app;
SELECT throws_ok(format('SELECT escrow.confirm_identity(%s, %L)', :d2, :'code2'), 'EP008',
  NULL, 'an expired code is refused (EP008) even when right');
SELECT escrow.issue_identity_code(:d2) AS code2 \gset
SELECT is(escrow.confirm_identity(:d2, :'code2'), true, 'a fresh code for deal 2 works');
RESET ROLE;

-- nobody but the owner reads the code columns
SELECT is_empty(
  $$ SELECT r, c FROM unnest(ARRAY['public', 'escrow_admin', 'escrow_app', 'escrow_auditor',
                                   'escrow_party']) r,
                      unnest(ARRAY['code_hmac', 'code_key_id', 'code_issued_at',
                                   'code_expires_at', 'code_attempts']) c
      WHERE has_column_privilege(r, 'escrow.deals', c, 'SELECT') $$,
  'no escrow role may read code_hmac, code_key_id, code_issued_at, code_expires_at or code_attempts');
SET ROLE escrow_app;
SELECT throws_ok('SELECT code_hmac FROM escrow.deals', '42501', NULL,
  'escrow_app cannot SELECT deals.code_hmac');
RESET ROLE;

---------------------------------------------------- lifecycle functions
-- one function per non-system action of the transition table, and the
-- other deal entry points; each with a call of NULL arguments
CREATE TEMP TABLE lifecycle AS
SELECT p.oid::regprocedure AS fn, p.proname::text AS name,
       format('SELECT %I.%I(%s)', n.nspname, p.proname,
              (SELECT string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY i)
                 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, i))) AS call
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'escrow'
   AND p.proname IN (SELECT action FROM escrow.deal_transitions()
                     UNION ALL VALUES ('issue_identity_code'), ('register_member'),
                                      ('register_merchant'), ('run_maintenance'));
GRANT SELECT ON lifecycle TO PUBLIC;

SELECT is_empty(
  $$ SELECT DISTINCT action FROM escrow.deal_transitions()
      WHERE actors <> 'system' AND action NOT IN (SELECT name FROM lifecycle) $$,
  'every non-system action of the transition table has a function');
SELECT cmp_ok((SELECT count(*) FROM lifecycle), '>=', 16::bigint,
  'at least the 16 lifecycle functions of the deal API');
SELECT is_empty(
  $$ SELECT fn FROM lifecycle WHERE has_function_privilege('public', fn, 'EXECUTE') $$,
  'PUBLIC cannot EXECUTE any lifecycle function');
SELECT is_empty(
  $$ SELECT fn FROM lifecycle WHERE has_function_privilege('escrow_auditor', fn, 'EXECUTE')
                                 OR has_function_privilege('escrow_party', fn, 'EXECUTE') $$,
  'escrow_auditor and escrow_party cannot EXECUTE any lifecycle function');
SELECT is_empty(
  $$ SELECT fn FROM lifecycle WHERE name NOT IN ('resolve_dispute', 'run_maintenance')
                                AND NOT has_function_privilege('escrow_app', fn, 'EXECUTE') $$,
  'escrow_app may EXECUTE every lifecycle function but resolve_dispute and run_maintenance');

SET ROLE escrow_auditor;
SELECT is_empty(
  $$ SELECT fn, pg_temp.sqlstate_of(call) AS state FROM lifecycle
      WHERE pg_temp.sqlstate_of(call) <> '42501' $$,
  'escrow_auditor gets 42501 from every lifecycle function');
RESET ROLE;
SET ROLE tap_sec_buyer1;
SELECT is_empty(
  $$ SELECT fn, pg_temp.sqlstate_of(call) AS state FROM lifecycle
      WHERE pg_temp.sqlstate_of(call) <> '42501' $$,
  'a party''s login role gets 42501 from every lifecycle function');
RESET ROLE;

SET ROLE escrow_app;
SELECT throws_ok(format('SELECT escrow.resolve_dispute(%s, 1000, 0)', :d1), '42501',
  'permission denied for function resolve_dispute', 'escrow_app cannot resolve_dispute');
SELECT throws_ok('SELECT * FROM escrow.run_maintenance()', '42501',
  'permission denied for function run_maintenance', 'escrow_app cannot run_maintenance');
SELECT throws_ok('SELECT * FROM escrow.run_maintenance(1)', '42501',
  'permission denied for function run_maintenance', 'escrow_app cannot run_maintenance(1)');
RESET ROLE;
SET ROLE escrow_admin;
SELECT lives_ok('SELECT * FROM escrow.run_maintenance()', 'escrow_admin can run_maintenance');
RESET ROLE;

---------------------------------------- escrow_party: own deals only (RLS)
SET ROLE tap_sec_buyer1;
SELECT results_eq('SELECT deal FROM escrow.deal_progress ORDER BY deal',
  format('VALUES (%s::bigint), (%s)', :d1, :d3),
  'buyer 1''s login role sees its own two deals in deal_progress');
SELECT results_eq('SELECT escrow.current_party()', $$ VALUES ('SEC-B1'::text) $$,
  'current_party() is SEC-B1');
SELECT is_empty(format('SELECT id FROM escrow.deal_events WHERE deal NOT IN (%s, %s)', :d1, :d3),
  'buyer 1 sees only its own deals'' events');
SELECT throws_ok('SELECT code_hmac FROM escrow.deals', '42501', NULL,
  'a party cannot SELECT deals.code_hmac');
SELECT throws_ok('SELECT * FROM escrow.deals', '42501', NULL,
  'a party cannot SELECT * from deals (the code columns are not granted)');
SELECT throws_ok('SELECT * FROM escrow.parties', '42501', NULL,
  'a party cannot read parties (contacts are private)');
SELECT throws_ok('SELECT * FROM escrow.balances', '42501', NULL,
  'a party cannot read balances');
RESET ROLE;
SET ROLE tap_sec_buyer2;
SELECT results_eq('SELECT deal, stage FROM escrow.deal_progress',
  format('VALUES (%s::bigint, %L::text)', :d2, 'identity_confirmed'),
  'buyer 2''s login role sees only its deal');
SELECT results_eq('SELECT sum(deals)::bigint FROM escrow.stage_funnel', 'VALUES (1::bigint)',
  'stage_funnel counts only buyer 2''s deal');
RESET ROLE;
SET ROLE tap_sec_merchant;
SELECT results_eq('SELECT deal FROM escrow.deal_progress ORDER BY deal',
  format('VALUES (%s::bigint), (%s), (%s)', :d1, :d2, :d3),
  'the merchant''s login role sees the three deals it sells');
RESET ROLE;
SET ROLE tap_sec_stranger;
SELECT is_empty('SELECT deal FROM escrow.deal_progress',
  'a member of escrow_party that is no party sees no deal');
SELECT is_empty('SELECT id FROM escrow.deal_events', '... and no event');
RESET ROLE;

-- a leaky function in the query does not see other parties' rows
CREATE SCHEMA tap_leak;
CREATE TABLE tap_leak.seen (txn_no text, buyer text);
GRANT USAGE ON SCHEMA tap_leak TO PUBLIC;
GRANT INSERT, SELECT ON tap_leak.seen TO PUBLIC;
CREATE FUNCTION tap_leak.peek(t text, b text) RETURNS boolean LANGUAGE plpgsql
  COST 0.0000001 AS $f$ BEGIN INSERT INTO tap_leak.seen VALUES (t, b); RETURN true; END $f$;
GRANT EXECUTE ON FUNCTION tap_leak.peek(text, text) TO PUBLIC;
SET ROLE tap_sec_buyer2;
SELECT count(*) AS leaked_rows FROM escrow.deals WHERE tap_leak.peek(txn_no, buyer) \gset
SELECT count(*) AS leaked_view FROM escrow.deal_progress WHERE tap_leak.peek(txn_no, buyer) \gset
RESET ROLE;
SELECT is_empty($$ SELECT * FROM tap_leak.seen WHERE buyer <> 'SEC-B2' $$,
  'a cheap leaky function in a party''s query never sees another party''s deal');

------------------------------ text results outlive the call (SPI memory)
-- issue_identity_code() and reserve() return text; two calls in one
-- statement must each return their own value.  The rows are stored by the
-- statement itself (no other call in between), then compared.
SET ROLE escrow_app;
SELECT escrow.open_deal('SEC-B1', 'SEC-M', 10) AS d4 \gset
SELECT escrow.open_deal('SEC-B2', 'SEC-M', 20) AS d5 \gset
RESET ROLE;
CREATE TEMP TABLE two_codes (c4 text, c5 text);
CREATE TEMP TABLE two_auth (a1 text, a2 text);
GRANT ALL ON two_codes, two_auth TO PUBLIC;
SET ROLE escrow_app;
SELECT pg_temp.sqlstate_of(format(
  'INSERT INTO two_codes SELECT escrow.issue_identity_code(%s), escrow.issue_identity_code(%s)',
  :d4, :d5)) AS two_codes_state \gset
SELECT pg_temp.sqlstate_of(format(
  'INSERT INTO two_auth SELECT escrow.reserve(%s, %L), escrow.reserve(%s, %L)',
  :d1, 'SEC-B1', :d2, 'SEC-B2')) AS two_auth_state \gset
SELECT results_eq(
  format('SELECT %L::text, c4 <> c5, escrow.confirm_identity(%s, c4), escrow.confirm_identity(%s, c5) '
         '  FROM two_codes', :'two_codes_state', :d4, :d5),
  $$ VALUES ('ok'::text, true, true, true) $$,
  'two codes issued in one statement are each returned intact (and each verifies)');
SELECT results_eq(
  format('SELECT %L::text, a.a1 = d1.auth_no, a.a2 = d2.auth_no, a.a1 <> a.a2 '
         '  FROM two_auth a, escrow.deals d1, escrow.deals d2 WHERE d1.id = %s AND d2.id = %s',
         :'two_auth_state', :d1, :d2),
  $$ VALUES ('ok'::text, true, true, true) $$,
  'two reserves in one statement each return their own authentication number');
RESET ROLE;

------------------------------------------------ hostile search_path
\ir include/attacker.sql
-- tables named like escrowpay's, with wrong data
CREATE TABLE attacker.parties (party_no text, kind text, name text, contact text,
    login_role name, account bigint, settlement_account bigint, fee_account bigint,
    fee_bps integer, inspection_window interval, cooling_off interval, created_at timestamptz);
INSERT INTO attacker.parties
VALUES ('SEC-B1', 'merchant', 'x', 'x', NULL, 1, 1, 1, 10000, '1 second', '1 second', now()),
       ('SEC-M', 'member', 'x', 'x', NULL, 1, 1, 1, 10000, '1 second', '1 second', now());
CREATE TABLE attacker.deals AS SELECT * FROM escrow.deals WHERE false;
INSERT INTO attacker.deals (id, txn_no, buyer, merchant, amount, currency, payment_method,
    debit_account, credit_account, fee_bps, stage, ship_within, inspection_window, cooling_off)
SELECT g, 'EPX' || g, 'SEC-B1', 'SEC-M', 1, 'EUR', 'balance', 1, 1, 10000, 'settled',
       '1 s', '1 s', '1 s'
  FROM generate_series(1, 1000) g;
CREATE TABLE attacker.deal_events AS SELECT * FROM escrow.deal_events WHERE false;
CREATE TABLE attacker.accounts (id bigint, owner text, kind text, currency text,
    posted bigint, held bigint, credit_limit bigint, shards smallint, parent bigint);
INSERT INTO attacker.accounts SELECT g, 'attacker', 'deposit', 'EUR', 1000000000, 0, 0, 0, NULL
  FROM generate_series(1, 1000) g;
CREATE TABLE attacker.holds AS SELECT * FROM escrow.holds WHERE false;
GRANT SELECT ON ALL TABLES IN SCHEMA attacker TO PUBLIC;
-- functions and operators with the names of those the deal code uses
CREATE FUNCTION attacker.make_interval(years int DEFAULT 0, months int DEFAULT 0,
    weeks int DEFAULT 0, days int DEFAULT 0, hours int DEFAULT 0, mins int DEFAULT 0,
    secs double precision DEFAULT 0) RETURNS interval LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('make_interval'); SELECT interval '100 years' $$;
CREATE FUNCTION attacker.text_yes(text, text) RETURNS boolean LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('text ='); SELECT true $$;
CREATE FUNCTION attacker.int8_yes(bigint, bigint) RETURNS boolean LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('bigint ='); SELECT true $$;
CREATE FUNCTION attacker.tstz_yes(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('timestamptz <='); SELECT true $$;
CREATE FUNCTION attacker.tstz_plus(timestamptz, interval) RETURNS timestamptz LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('timestamptz + interval'); SELECT timestamptz '2000-01-01' $$;
CREATE FUNCTION attacker.int4_lhs(integer, integer) RETURNS integer LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('integer +'); SELECT $1 $$;
CREATE OPERATOR attacker.=  (leftarg = text, rightarg = text, function = attacker.text_yes);
CREATE OPERATOR attacker.=  (leftarg = bigint, rightarg = bigint, function = attacker.int8_yes);
CREATE OPERATOR attacker.<= (leftarg = timestamptz, rightarg = timestamptz, function = attacker.tstz_yes);
CREATE OPERATOR attacker.+  (leftarg = timestamptz, rightarg = interval, function = attacker.tstz_plus);
CREATE OPERATOR attacker.+  (leftarg = integer, rightarg = integer, function = attacker.int4_lhs);
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA attacker TO PUBLIC;

-- the shadows work where they can (so the checks below are not vacuous)
SET LOCAL search_path = attacker, pg_catalog;
SELECT ('a'::text = 'b'::text) AS shadow_eq, (2 + 2) AS shadow_plus,
       (SELECT count(*) FROM deals) AS shadow_deals \gset
RESET search_path;
SELECT is(:'shadow_eq' || '/' || :'shadow_plus' || '/' || :'shadow_deals', 't/2/1000'::text,
  'with pg_catalog behind attacker, text =, integer + and deals are the attacker''s');
TRUNCATE attacker.calls;

-- balances before
SELECT posted AS b1_before, held AS b1_held FROM escrow.balances WHERE account = :acc_b1 \gset
SELECT posted AS m_before FROM escrow.balances WHERE account = :acc_m \gset
SELECT posted AS fee_before FROM escrow.balances WHERE account = :acc_fee \gset

-- as escrow_app, pg_catalog implicitly first
SET ROLE escrow_app;
SET search_path = attacker, public, escrow;
SELECT escrow.open_deal('SEC-B1', 'SEC-M', 777, NULL, NULL, NULL, NULL, '7 days', 'sp-deal') AS sp1 \gset
SELECT escrow.open_deal('SEC-B1', 'SEC-M', 777, NULL, NULL, NULL, NULL, '7 days', 'sp-deal') AS sp1_again \gset
\set deal :sp1
\set prefix sp1_
\ir include/settle_deal.sql
RESET search_path;
RESET ROLE;

-- as the owner, pg_catalog explicitly behind the attacker and temp tables
-- named like escrowpay's in front of everything
CREATE TEMP TABLE deals AS SELECT * FROM attacker.deals;
CREATE TEMP TABLE parties AS SELECT * FROM attacker.parties;
CREATE TEMP TABLE accounts AS SELECT * FROM attacker.accounts LIMIT 10;
SET search_path = pg_temp, attacker, pg_catalog, public, escrow;
SELECT escrow.open_deal('SEC-B1', 'SEC-M', 400) AS sp2 \gset
\set deal :sp2
\set prefix sp2_
\ir include/settle_deal.sql
RESET search_path;

SELECT is_empty('SELECT what FROM attacker.calls',
  'no attacker function or operator was called by the deal functions');
SELECT is(:'sp1_again'::bigint, :'sp1'::bigint, 'the idempotent open_deal returned the first deal id');
SELECT is(:'sp1_confirmed' || '/' || :'sp2_confirmed' || '/' || :'sp1_auth_len' || '/' || :'sp2_auth_len',
  't/t/10/10'::text, 'codes verified and reserve returned 10-digit authentication numbers');
SELECT results_eq(
  format('SELECT id, buyer, merchant, amount, stage, held, captured, fee, hold_id IS NOT NULL, '
         '       capture_transfer '
         '  FROM escrow.deals WHERE id IN (%s, %s) ORDER BY id', :sp1, :sp2),
  format('VALUES (%s::bigint, ''SEC-B1''::text, ''SEC-M''::text, 777::bigint, ''settled''::text, '
         '        0::bigint, 777::bigint, 19::bigint, true, %s::bigint), '
         '       (%s, ''SEC-B1'', ''SEC-M'', 400, ''settled'', 0, 400, 10, true, %s)',
         :sp1, :sp1_capture, :sp2, :sp2_capture),
  'both deals settled with the right parties, amounts and fees (250 bps)');
SELECT ok((SELECT bool_and(deadline > now() + interval '7 days' AND deadline < now() + interval '9 days')
             FROM escrow.deals WHERE id IN (:sp1, :sp2)),
  'the cooling-off deadlines are 8 days ahead (not the attacker''s clock or interval)');
SELECT results_eq(
  format('SELECT deal, action FROM escrow.deal_events WHERE deal IN (%s, %s) ORDER BY id', :sp1, :sp2),
  format('VALUES (%1$s::bigint, ''open_deal''::text), (%1$s, ''issue_identity_code''), '
         '       (%1$s, ''confirm_identity''), (%1$s, ''reserve''), (%1$s, ''mark_shipped''), '
         '       (%1$s, ''mark_delivered''), (%1$s, ''confirm_inspection''), '
         '       (%2$s, ''open_deal''), (%2$s, ''issue_identity_code''), '
         '       (%2$s, ''confirm_identity''), (%2$s, ''reserve''), (%2$s, ''mark_shipped''), '
         '       (%2$s, ''mark_delivered''), (%2$s, ''confirm_inspection'')', :sp1, :sp2),
  'exactly the expected events, once each');
SELECT results_eq(
  format('SELECT account, posted, held FROM escrow.balances WHERE account IN (%s, %s, %s) ORDER BY account',
         :acc_b1, :acc_m, :acc_fee),
  format('VALUES (%s::bigint, %s::bigint, %s::bigint), (%s, %s, 0), (%s, %s, 0)',
         :acc_b1, :b1_before - 1177, :b1_held, :acc_m, :m_before + 1177 - 29,
         :acc_fee, :fee_before + 29),
  'the buyer paid 1177, the merchant got 1177 less 29 fee, the fee account 29');
SELECT is((SELECT count(*) FROM attacker.deals), 1000::bigint,
  'nothing was written to the attacker''s deals');
SELECT is((SELECT count(*) FROM attacker.deal_events) + (SELECT count(*) FROM attacker.holds),
  0::bigint, 'nothing was written to the attacker''s deal_events or holds');
SELECT is_empty('SELECT * FROM escrow.verify_ledger()', 'verify_ledger finds nothing wrong');
SELECT is_empty('SELECT what FROM attacker.calls', 'still no attacker object called');

SELECT * FROM finish();
ROLLBACK;
