-- 12_deal_refusals: every refusal of the deal lifecycle, with its SQLSTATE,
-- changing nothing: bad parties and deals, wrong stage (EP007, naming what
-- is allowed now), wrong actor (42501), funds (EP001), identity codes
-- (EP008: none pending, expired, locked out; no session sets the key),
-- closed windows, dispute splits, privileges, idempotent open_deal.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
-- The id of this file's account owner
CREATE FUNCTION pg_temp.a(text) RETURNS bigint LANGUAGE sql AS $$
  SELECT id FROM escrow.accounts WHERE owner = 'rf-' || $1
$$;
\i sql/include/deal_at.sql

SELECT escrow.open_account('rf-buyer', 'USD') AS buyer, escrow.open_account('rf-shop', 'USD') AS shop,
       escrow.open_account('rf-fees', 'USD') AS fees, escrow.open_account('rf-poor', 'USD') AS poor,
       escrow.open_account('rf-line', 'USD', 'credit', 1000) AS line, escrow.open_account('rf-euro', 'EUR') AS euro,
       escrow.open_account('rf-system', 'USD', 'system') AS sys, escrow.open_account('rf-stranger', 'USD') AS stranger \gset
SELECT escrow.deposit(:buyer, 100000) > 0 AND escrow.deposit(:poor, 100) > 0 AS funded;
SELECT escrow.register_member('B', 'Buyer', 'b@test', :buyer), escrow.register_member('X', 'Stranger', 'x@test', :stranger),
       escrow.register_member('P', 'Poor', 'p@test', :poor), escrow.register_member('L', 'Line', 'l@test', :line),
       escrow.register_member('E', 'Euro buyer', 'e@test', :euro),
       escrow.register_merchant('S', 'Shop', 's@test', :shop, fee_bps => 250, fee_account => :fees);

-- Registering parties
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.register_member('B', 'Again', 'b@test', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_merchant('B', 'Again', 'b@test', pg_temp.a('shop'))$$),
  ($$SELECT escrow.register_member('', 'N', 'c', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member(NULL, 'N', 'c', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member('-B', 'N', 'c', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member('_B', 'N', 'c', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member('B B', 'N', 'c', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member(repeat('b', 65), 'N', 'c', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member('system', 'N', 'c', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member('N1', '', 'c', pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member('N1', 'N', NULL, pg_temp.a('buyer'))$$),
  ($$SELECT escrow.register_member('N1', 'N', 'c', NULL)$$),
  ($$SELECT escrow.register_member('N1', 'N', 'c', 999)$$),
  ($$SELECT escrow.register_member('N1', 'N', 'c', pg_temp.a('system'))$$),
  ($$SELECT escrow.register_member('N1', 'N', 'c', pg_temp.a('buyer'), 'no_such_role')$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('line'))$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('system'))$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), fee_bps => 100)$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), fee_bps => 10001, fee_account => pg_temp.a('fees'))$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), fee_bps => -1)$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), fee_bps => NULL)$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), fee_bps => 100, fee_account => pg_temp.a('euro'))$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), fee_bps => 100, fee_account => pg_temp.a('shop'))$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), inspection_window => '0 seconds')$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), inspection_window => NULL)$$),
  ($$SELECT escrow.register_merchant('N2', 'N', 'c', pg_temp.a('shop'), cooling_off => '-1 day')$$)) v(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Opening deals
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.open_deal('nobody', 'S', 100)$$),
  ($$SELECT escrow.open_deal('B', 'nobody', 100)$$),
  ($$SELECT escrow.open_deal('S', 'B', 100)$$),
  ($$SELECT escrow.open_deal('B', 'X', 100)$$),
  ($$SELECT escrow.open_deal('B', 'B', 100)$$),
  ($$SELECT escrow.open_deal('B', 'S', 100, inspector => 'B')$$),
  ($$SELECT escrow.open_deal('B', 'S', 100, inspector => 'S')$$),
  ($$SELECT escrow.open_deal('E', 'S', 100)$$),
  ($$SELECT escrow.open_deal('B', 'S', NULL)$$),
  ($$SELECT escrow.open_deal('B', 'S', 0)$$),
  ($$SELECT escrow.open_deal('B', 'S', -100)$$),
  ($$SELECT escrow.open_deal(NULL, 'S', 100)$$),
  ($$SELECT escrow.open_deal('B', 'S', 100, ship_within => '0 seconds')$$),
  ($$SELECT escrow.open_deal('B', 'S', 100, ship_within => '-1 hour')$$),
  ($$SELECT escrow.open_deal('B', 'S', 100, ship_within => NULL)$$),
  ($$SELECT escrow.open_deal('B', 'S', 100, idempotency_key => '')$$)) v(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Idempotent open_deal: the same key and arguments give the same deal
SELECT escrow.open_deal('B', 'S', 700, idempotency_key => 'order-1') AS k1 \gset
SELECT escrow.open_deal('B', 'S', 700, idempotency_key => 'order-1') = :k1 AS same_deal;
SELECT count(*) AS deals, count(*) FILTER (WHERE action = 'open_deal') AS open_events
  FROM escrow.deals d JOIN escrow.deal_events e ON e.deal = d.id;
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.open_deal('B', 'S', 701, idempotency_key => 'order-1')$$),
  ($$SELECT escrow.open_deal('B', 'S', 700, carrier => 'UPS', idempotency_key => 'order-1')$$),
  (format($$SELECT escrow.deposit(%s, 700, 'order-1')$$, :'buyer'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- A deal at every stage ("insp" inspects the identity-confirmed, reserved and shipped ones)
SELECT pg_temp.deal_at('B', 'S', 1000, 'order_received') AS ord \gset
SELECT pg_temp.deal_at('B', 'S', 1000, 'identity_confirmed', inspector => 'insp') AS idc \gset
SELECT pg_temp.deal_at('B', 'S', 1000, 'funds_reserved', inspector => 'insp') AS res \gset
SELECT pg_temp.deal_at('B', 'S', 1000, 'shipped', inspector => 'insp') AS shp \gset
SELECT pg_temp.deal_at('B', 'S', 1000, 'delivered') AS dlv \gset
SELECT pg_temp.deal_at('B', 'S', 1000, 'settled') AS stl \gset
SELECT pg_temp.deal_at('B', 'S', 1000, 'order_received') AS cnc \gset
SELECT escrow.cancel_deal(:cnc, 'test', 'B');
SELECT pg_temp.fingerprint() AS before \gset

-- Wrong stage: EP007 naming the stage and what is allowed now
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.reserve(%s, 'B')$$, :'ord')),
  (format($$SELECT escrow.issue_identity_code(%s)$$, :'idc')),
  (format($$SELECT escrow.confirm_identity(%s, '12345678')$$, :'idc')),
  (format($$SELECT escrow.mark_shipped(%s, 'DHL', 'T', 'S')$$, :'idc')),
  (format($$SELECT escrow.reserve(%s, 'B')$$, :'res')),
  (format($$SELECT escrow.mark_delivered(%s, 'S')$$, :'res')),
  (format($$SELECT escrow.open_dispute(%s, 'too early', 'B')$$, :'res')),
  (format($$SELECT escrow.cancel_deal(%s, 'too late', 'B')$$, :'shp')),
  (format($$SELECT escrow.confirm_inspection(%s, 'B')$$, :'shp')),
  (format($$SELECT escrow.reject_delivery(%s, 'not yet', 'B')$$, :'shp')),
  (format($$SELECT escrow.request_return(%s, 'not settled', 'B')$$, :'dlv')),
  (format($$SELECT escrow.confirm_return(%s, 'S')$$, :'stl')),
  (format($$SELECT escrow.resolve_dispute(%s, 500, 500)$$, :'stl')),
  (format($$SELECT escrow.open_dispute(%s, 'ended', 'B')$$, :'cnc')),
  -- wrong stage is reported before a wrong actor
  (format($$SELECT escrow.mark_shipped(%s, 'DHL', 'T', 'B')$$, :'ord'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Wrong actor: 42501 naming who may
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.confirm_inspection(%s, 'S')$$, :'dlv')),
  (format($$SELECT escrow.mark_shipped(%s, 'DHL', 'T', 'B')$$, :'res')),
  (format($$SELECT escrow.cancel_deal(%s, 'not mine', 'X')$$, :'res')),
  (format($$SELECT escrow.cancel_deal(%s, 'not mine', 'insp')$$, :'res')),
  (format($$SELECT escrow.reserve(%s, 'insp')$$, :'idc')),
  (format($$SELECT escrow.mark_delivered(%s, 'B')$$, :'shp')),
  -- a name that is neither a party nor the deal's inspector is unknown: P0002
  (format($$SELECT escrow.mark_delivered(%s, 'another-inspector')$$, :'shp')),
  (format($$SELECT escrow.reject_delivery(%s, 'mine', 'S')$$, :'dlv')),
  (format($$SELECT escrow.request_return(%s, 'mine', 'S')$$, :'stl')),
  (format($$SELECT escrow.open_dispute(%s, 'nosy', 'X')$$, :'stl')),
  (format($$SELECT escrow.cancel_deal(%s, 'pretending', 'system')$$, :'ord'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Unknown deals (P0002) and missing arguments (22023)
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.issue_identity_code(999999)$$), ($$SELECT escrow.confirm_identity(999999, '1')$$),
  ($$SELECT escrow.reserve(999999, 'B')$$), ($$SELECT escrow.mark_shipped(999999, 'c', 't', 'S')$$),
  ($$SELECT escrow.mark_delivered(999999, 'S')$$), ($$SELECT escrow.confirm_inspection(999999, 'B')$$),
  ($$SELECT escrow.cancel_deal(999999, 'r', 'B')$$), ($$SELECT escrow.reject_delivery(999999, 'r', 'B')$$),
  ($$SELECT escrow.request_return(999999, 'r', 'B')$$), ($$SELECT escrow.confirm_return(999999, 'S')$$),
  ($$SELECT escrow.open_dispute(999999, 'r', 'B')$$), ($$SELECT escrow.resolve_dispute(999999, 1, 1)$$),
  ($$SELECT escrow.reserve(NULL, 'B')$$), ($$SELECT escrow.reserve(2, NULL)$$),
  ($$SELECT escrow.cancel_deal(2, '', 'B')$$), ($$SELECT escrow.confirm_identity(2, NULL)$$)) v(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Not enough money: EP001, the deal stays identity_confirmed
SELECT pg_temp.deal_at('P', 'S', 5000, 'identity_confirmed') AS pd \gset
SELECT pg_temp.deal_at('L', 'S', 1001, 'identity_confirmed') AS ld \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.reserve(:pd, 'P');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.reserve(:ld, 'L');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT stage, held, hold_id IS NULL AS no_hold, auth_no IS NULL AS no_auth FROM escrow.deals WHERE id IN (:pd, :ld);
-- a merchant who paid out cannot confirm a return
SELECT pg_temp.deal_at('B', 'S', 2000, 'settled') AS wd \gset
SELECT escrow.request_return(:wd, 'broken', 'B');
SELECT escrow.withdraw(:shop, posted) > 0 AS paid_out FROM escrow.balances WHERE account = :shop;
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.confirm_return(:wd, 'S');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Identity codes: none pending, expired, locked out, no key
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.confirm_identity(:ord, '12345678');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.issue_identity_code(:ord) AS code \gset
SELECT CASE WHEN :'code' = '00000000' THEN '11111111' ELSE '00000000' END AS wrong \gset
UPDATE escrow.deals SET code_expires_at = now() - interval '1 second' WHERE id = :ord;
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.confirm_identity(:ord, :'code');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.confirm_identity(:ord, :'wrong');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SET escrowpay.max_code_attempts = 3;
SELECT escrow.issue_identity_code(:ord) AS code \gset
SELECT CASE WHEN :'code' = '00000000' THEN '11111111' ELSE '00000000' END AS wrong \gset
SELECT n, escrow.confirm_identity(:ord, :'wrong') FROM generate_series(1, 3) n;
SELECT stage, code_attempts FROM escrow.deals WHERE id = :ord;
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.confirm_identity(:ord, :'code');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT action, payload FROM escrow.deal_events WHERE deal = :ord AND action LIKE '%code%' ORDER BY id;
-- a new code does not reset the count: re-issuing buys no more guesses,
-- the deal stays locked (it is cancelled and opened again)
SELECT escrow.issue_identity_code(:ord) AS code \gset
SELECT code_attempts FROM escrow.deals WHERE id = :ord;
SELECT escrow.confirm_identity(:ord, :'code');
\echo :LAST_ERROR_SQLSTATE
SELECT stage FROM escrow.deals WHERE id = :ord;
RESET escrowpay.max_code_attempts;
-- the settings' bounds: codes live 10 seconds at least, 1 attempt at least
SET escrowpay.code_ttl = 9;
\echo :LAST_ERROR_SQLSTATE
SET escrowpay.max_code_attempts = 0;
\echo :LAST_ERROR_SQLSTATE
SET escrowpay.code_ttl = 10;
SELECT pg_temp.deal_at('B', 'S', 1000, 'order_received') AS tt \gset
SELECT escrow.issue_identity_code(:tt) IS NOT NULL AS issued;
SELECT e.payload, d.code_expires_at - e.at BETWEEN interval '10 seconds' AND interval '70 seconds' AS ttl_10s
  FROM escrow.deals d JOIN escrow.deal_events e ON e.deal = d.id AND e.action = 'issue_identity_code'
 WHERE d.id = :tt;
RESET escrowpay.code_ttl;
-- the keys are in the server's key file (escrowpay.hmac_key_file): no
-- session sets a key or another file, not even a superuser's (the former
-- setting escrowpay.hmac_key no longer exists); a missing, unusable or
-- unset key file (55000) is tested in test/t/008_identity_code_keys.pl
SELECT pg_temp.deal_at('B', 'S', 1000, 'order_received') AS nk \gset
SELECT escrow.issue_identity_code(:nk) AS code \gset
SELECT pg_temp.fingerprint() AS before \gset
SET escrowpay.hmac_key = 'session-key-0123456789abcdef0123456789';
\echo :LAST_ERROR_SQLSTATE
SET escrowpay.hmac_key_file = '/tmp/session-keys';
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.confirm_identity(:nk, :'code');

-- Closed windows: reject after the inspection window, return after
-- cooling-off (deadlines moved into the past, before run_maintenance acts)
UPDATE escrow.deals SET deadline = now() - interval '1 second' WHERE id IN (:dlv, :stl);
SELECT pg_temp.fingerprint() AS before \gset
SELECT pg_temp.error_of(format('SELECT escrow.reject_delivery(%s, %L, %L)', :dlv, 'late', 'B'));
SELECT pg_temp.error_of(format('SELECT escrow.request_return(%s, %L, %L)', :stl, 'late', 'B'));
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Disputes: shares must be non-negative and add up to the amount; only
-- escrow_admin resolves
SELECT escrow.open_dispute(:shp, 'lost', 'B');
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.resolve_dispute(%s, 400, 500)$$, :'shp')),
  (format($$SELECT escrow.resolve_dispute(%s, 600, 600)$$, :'shp')),
  (format($$SELECT escrow.resolve_dispute(%s, -100, 1100)$$, :'shp')),
  (format($$SELECT escrow.resolve_dispute(%s, 1000, NULL)$$, :'shp')),
  (format($$SELECT escrow.resolve_dispute(%s, 9223372036854775807, 1)$$, :'shp'))) AS t(c);
SET ROLE escrow_app;
SELECT escrow.resolve_dispute(:shp, 500, 500);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM escrow.run_maintenance();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE escrow_auditor;
SELECT escrow.open_deal('B', 'S', 100);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM escrow.run_maintenance(0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM escrow.run_maintenance(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SET ROLE escrow_admin;
SELECT escrow.resolve_dispute(:shp, 500, 500);
RESET ROLE;
SELECT stage, captured, fee, actor FROM escrow.deals d JOIN escrow.deal_events e ON e.deal = d.id
 WHERE d.id = :shp AND e.action = 'resolve_dispute';

SELECT stage, count(*) AS deals FROM escrow.deals GROUP BY stage ORDER BY stage;
SELECT * FROM escrow.verify_ledger();
