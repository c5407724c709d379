-- 16_payment_sources: split and changeable payment methods
-- (src/sources.c).  A deal paid part from a deposit account and part from a
-- credit line: reserve places one hold per source and both accounts show
-- their part frozen; the sources changed after reserve (old holds released,
-- new ones placed in the same transaction; a change the new source cannot
-- cover is refused with EP001 and the old holds stay); changed to a single
-- account (payment_method back to balance or credit) and back; settlement
-- capturing each source (merchant paid, fee on the total); dispute splits
-- before capture (the merchant's share taken from the sources in the
-- buyer's order, the rest released) and after settlement (the buyer's share
-- refunded from the last source first); a return refunding every source;
-- cancel releasing every hold; sixteen sources; and every refusal of
-- set_payment_sources, each group followed by a check that nothing changed.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- Everything a refused call could have touched: accounts, holds, the
-- journal, deals, their sources and events.
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
-- Balances of the buyer's, merchant's and fee accounts of this file
CREATE FUNCTION pg_temp.bal() RETURNS TABLE (owner text, kind text, posted bigint, held bigint,
    credit_limit bigint, available bigint)
LANGUAGE sql AS $$
  SELECT owner, kind::text, posted, held, credit_limit, available FROM escrow.balances
   WHERE owner IN ('ps-deposit', 'ps-line', 'ps-small', 'ps-shop', 'ps-fees') ORDER BY account
$$;
-- A deal's sources in the buyer's order, with the state of each hold
CREATE FUNCTION pg_temp.src(bigint) RETURNS TABLE (pos integer, owner text, amount bigint,
    hold text, hold_captured bigint, hold_released bigint, captured bigint, refunded bigint)
LANGUAGE sql AS $$
  SELECT s.position, a.owner, s.amount, h.status::text, h.captured, h.released, s.captured, s.refunded
    FROM escrow.deal_sources s
    JOIN escrow.accounts a ON a.id = s.account
    LEFT JOIN escrow.holds h ON h.id = s.hold_id
   WHERE s.deal = $1 ORDER BY s.position
$$;
-- The deal row's payment columns
CREATE FUNCTION pg_temp.deal(bigint) RETURNS TABLE (stage text, payment_method text, debit text,
    has_hold boolean, held bigint, captured bigint, refunded bigint, fee bigint, capture boolean)
LANGUAGE sql AS $$
  SELECT d.stage, d.payment_method, a.owner, d.hold_id IS NOT NULL, d.held, d.captured,
         d.refunded, d.fee, d.capture_transfer IS NOT NULL
    FROM escrow.deals d JOIN escrow.accounts a ON a.id = d.debit_account WHERE d.id = $1
$$;
-- Every hold a deal ever placed, oldest first
CREATE FUNCTION pg_temp.holds(bigint) RETURNS TABLE (owner text, amount bigint, captured bigint,
    released bigint, status text)
LANGUAGE sql AS $$
  SELECT a.owner, h.amount, h.captured, h.released, h.status::text
    FROM escrow.holds h JOIN escrow.accounts a ON a.id = h.debit_account
   WHERE h.deal = $1 ORDER BY h.id
$$;
-- A deal's events without timestamps and random numbers
CREATE FUNCTION pg_temp.events(bigint) RETURNS TABLE (action text, to_stage text, actor text,
    payload jsonb)
LANGUAGE sql AS $$
  SELECT action, to_stage, CASE WHEN actor = current_user THEN '<admin>' ELSE actor END,
         payload - 'auth_no' - 'hold' - 'capture_transfer'
    FROM escrow.deal_events WHERE deal = $1 AND action NOT IN ('open_deal', 'issue_identity_code')
   ORDER BY id
$$;

-- The buyer B pays by default from ps-deposit (10000) and also has a
-- credit line ps-line (5000) and a small deposit account ps-small (1000);
-- the merchant S charges 250 basis points.
SELECT escrow.open_account('ps-deposit', 'USD') AS dep, escrow.open_account('ps-line', 'USD', 'credit', 5000) AS line,
       escrow.open_account('ps-small', 'USD') AS small, escrow.open_account('ps-shop', 'USD') AS shop,
       escrow.open_account('ps-fees', 'USD') AS fees \gset
SELECT escrow.deposit(:dep, 10000) > 0 AND escrow.deposit(:small, 1000) > 0 AS funded;
SELECT escrow.register_member('B', 'Buyer', 'b@buyer.test', :dep),
       escrow.register_merchant('S', 'Shop', 's@shop.test', :shop, fee_bps => 250, fee_account => :fees);
-- B's credit line and small account are B's too (a deal pays only from its
-- buyer's own accounts)
SELECT escrow.assign_account(:line, 'B'), escrow.assign_account(:small, 'B');
SELECT * FROM pg_temp.bal();

-- =====================================================================
-- Paid part from the deposit account, part from the credit line
-- =====================================================================
SELECT escrow.open_deal('B', 'S', 4000) AS d1 \gset
SELECT escrow.issue_identity_code(:d1) AS code \gset
SELECT escrow.confirm_identity(:d1, :'code');
-- before reserve the sources are only recorded: nothing is held yet
SELECT escrow.set_payment_sources(:d1, ARRAY[:dep, :line]::bigint[], '{3000,1000}', 'B');
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM pg_temp.deal(:d1);
SELECT * FROM pg_temp.bal();
-- reserve: one hold per source, both accounts show their part frozen
SELECT escrow.reserve(:d1, 'B') ~ '^[0-9]{10}$' AS auth_no;
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM pg_temp.deal(:d1);
SELECT * FROM pg_temp.bal();
SELECT count(*) AS open_holds, sum(remaining) AS remaining FROM escrow.open_holds;

-- =====================================================================
-- Changing the sources after reserve
-- =====================================================================
-- now 2500 from the credit line first, 1500 from the deposit account: the
-- two old holds are released and two new ones placed
SELECT escrow.set_payment_sources(:d1, ARRAY[:line, :dep]::bigint[], '{2500,1500}', 'B');
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM pg_temp.holds(:d1);
SELECT * FROM pg_temp.bal();
-- a change the new sources cannot cover: ps-small has only 1000 of the
-- 3000 asked (EP001); the old holds stay, the balances do not move
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.set_payment_sources(:d1, ARRAY[:small, :line]::bigint[], '{3000,1000}', 'B');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM pg_temp.bal();
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- the old holds are released before the new ones are placed, so a new
-- hold may use what an old one frees: 3500 on the credit line (available
-- 2500 besides the 2500 this deal holds there) and 500 from ps-small
SELECT escrow.set_payment_sources(:d1, ARRAY[:line, :small]::bigint[], '{3500,500}', 'B');
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM pg_temp.bal();
-- a single account: the credit line alone (payment_method credit), the
-- hold on the deal row itself and no deal_sources rows
SELECT escrow.set_payment_sources(:d1, ARRAY[:line]::bigint[], '{4000}', 'B');
SELECT * FROM pg_temp.deal(:d1);
SELECT count(*) AS sources FROM escrow.deal_sources WHERE deal = :d1;
SELECT * FROM pg_temp.bal();
-- back to the deposit account alone (payment_method balance)
SELECT escrow.set_payment_sources(:d1, ARRAY[:dep]::bigint[], '{4000}', 'B');
SELECT * FROM pg_temp.deal(:d1);
SELECT * FROM pg_temp.bal();
-- and split again for the rest of the deal: 1500 credit, 2500 deposit
SELECT escrow.set_payment_sources(:d1, ARRAY[:line, :dep]::bigint[], '{1500,2500}', 'B');
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM pg_temp.deal(:d1);
-- every hold the deal placed: only the last two are open
SELECT * FROM pg_temp.holds(:d1);
SELECT * FROM pg_temp.bal();
-- still changeable once shipped and delivered (before settlement)
SELECT escrow.mark_shipped(:d1, 'DHL', 'T-1', 'S');
SELECT escrow.mark_delivered(:d1, 'S');
SELECT escrow.set_payment_sources(:d1, ARRAY[:line, :dep]::bigint[], '{2000,2000}', 'B');
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Settlement captures each source; the fee is on the total
-- =====================================================================
-- a deal paid from several sources has one capture per source: NULL
SELECT escrow.confirm_inspection(:d1, 'B') IS NULL AS no_single_capture;
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM pg_temp.deal(:d1);
-- the merchant got 4000 less 2.5% (100), the fee account 100
SELECT * FROM pg_temp.bal();
SELECT t.kind, da.owner AS debit, ca.owner AS credit, t.amount
  FROM escrow.transfers t JOIN escrow.accounts da ON da.id = t.debit_account
  JOIN escrow.accounts ca ON ca.id = t.credit_account
 WHERE t.id IN (SELECT capture_transfer FROM escrow.deal_sources WHERE deal = :d1)
    OR t.id = (SELECT fee_transfer FROM escrow.deals WHERE id = :d1)
 ORDER BY t.id;
SELECT escrow.set_payment_sources(:d1, ARRAY[:dep]::bigint[], '{4000}', 'B');
\echo :LAST_ERROR_SQLSTATE

-- =====================================================================
-- A return after settlement refunds every source (and the fee)
-- =====================================================================
SELECT escrow.request_return(:d1, 'does not fit', 'B');
SELECT escrow.confirm_return(:d1, 'S');
SELECT * FROM pg_temp.src(:d1);
SELECT * FROM pg_temp.deal(:d1);
-- the buyer is whole again on both accounts, merchant and fees at 0
SELECT * FROM pg_temp.bal();
SELECT t.kind, ca.owner AS refunded_to, t.amount, o.kind AS refund_of
  FROM escrow.transfers t JOIN escrow.transfers o ON o.id = t.refund_of
  JOIN escrow.accounts ca ON ca.id = t.credit_account
 WHERE o.id IN (SELECT capture_transfer FROM escrow.deal_sources WHERE deal = :d1)
    OR o.id = (SELECT fee_transfer FROM escrow.deals WHERE id = :d1)
 ORDER BY t.id;
SELECT * FROM pg_temp.events(:d1);
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Dispute before capture: the merchant's share comes from the sources in
-- the buyer's order (position), the rest is released
-- =====================================================================
SELECT escrow.open_deal('B', 'S', 6000) AS d2 \gset
SELECT escrow.issue_identity_code(:d2) AS code \gset
SELECT escrow.confirm_identity(:d2, :'code');
-- the credit line first (2000), then the deposit account (4000)
SELECT escrow.set_payment_sources(:d2, ARRAY[:line, :dep]::bigint[], '{2000,4000}', 'B');
SELECT escrow.reserve(:d2, 'B') IS NOT NULL AS reserved;
SELECT escrow.mark_shipped(:d2, 'DHL', 'T-2', 'S');
SELECT escrow.open_dispute(:d2, 'never arrived', 'B');
SELECT * FROM pg_temp.bal();
-- 2500 back to the buyer, 3500 to the merchant: 2000 captured from the
-- credit line, 1500 from the deposit account whose other 2500 is released
SELECT escrow.resolve_dispute(:d2, 2500, 3500);
SELECT * FROM pg_temp.src(:d2);
SELECT * FROM pg_temp.deal(:d2);
-- fee 2.5% of 3500 = 87
SELECT * FROM pg_temp.bal();
SELECT * FROM pg_temp.events(:d2);
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Dispute after settlement: the buyer's share is refunded from the last
-- source first
-- =====================================================================
SELECT escrow.open_deal('B', 'S', 2000) AS d3 \gset
SELECT escrow.issue_identity_code(:d3) AS code \gset
SELECT escrow.confirm_identity(:d3, :'code');
-- the deposit account first (500), then the credit line (1500)
SELECT escrow.set_payment_sources(:d3, ARRAY[:dep, :line]::bigint[], '{500,1500}', 'B');
SELECT escrow.reserve(:d3, 'B') IS NOT NULL AS reserved;
SELECT escrow.mark_shipped(:d3, 'DHL', 'T-3', 'S');
SELECT escrow.mark_delivered(:d3, 'S');
SELECT escrow.confirm_inspection(:d3, 'B') IS NULL AS no_single_capture;
SELECT * FROM pg_temp.bal();
SELECT escrow.open_dispute(:d3, 'broke after a day', 'B');
-- 1700 back to the buyer: 1500 to the credit line (last), 200 to the
-- deposit account; the merchant keeps 300 and the fee becomes 7
SELECT escrow.resolve_dispute(:d3, 1700, 300);
SELECT * FROM pg_temp.src(:d3);
SELECT * FROM pg_temp.deal(:d3);
SELECT * FROM pg_temp.bal();
SELECT * FROM pg_temp.events(:d3);
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Cancel after reserve releases every hold; sixteen sources
-- =====================================================================
SELECT escrow.open_deal('B', 'S', 3000) AS d4 \gset
SELECT escrow.issue_identity_code(:d4) AS code \gset
SELECT escrow.confirm_identity(:d4, :'code');
SELECT escrow.set_payment_sources(:d4, ARRAY[:small, :line, :dep]::bigint[], '{1000,1000,1000}', 'B');
SELECT escrow.reserve(:d4, 'B') IS NOT NULL AS reserved;
SELECT * FROM pg_temp.src(:d4);
SELECT * FROM pg_temp.bal();
SELECT escrow.cancel_deal(:d4, 'found it cheaper', 'B');
SELECT * FROM pg_temp.src(:d4);
SELECT * FROM pg_temp.deal(:d4);
SELECT * FROM pg_temp.bal();
SELECT * FROM pg_temp.events(:d4);

-- sixteen accounts of 100 each pay a deal of 1600: sixteen holds
SELECT array_agg(escrow.open_account('ps-jar-' || n, 'USD') ORDER BY n) AS jars
  FROM generate_series(1, 16) n \gset
SELECT count(escrow.assign_account(j, 'B')) AS jars_of_b FROM unnest(:'jars'::bigint[]) j;
SELECT count(escrow.deposit(j, 100)) AS jars_filled FROM unnest(:'jars'::bigint[]) j;
SELECT escrow.open_deal('B', 'S', 1600) AS d5 \gset
SELECT escrow.issue_identity_code(:d5) AS code \gset
SELECT escrow.confirm_identity(:d5, :'code');
SELECT escrow.set_payment_sources(:d5, :'jars', array_fill(100::bigint, ARRAY[16]), 'B');
SELECT escrow.reserve(:d5, 'B') IS NOT NULL AS reserved;
SELECT count(*) AS sources, count(DISTINCT hold_id) AS holds, sum(amount) AS amount
  FROM escrow.deal_sources WHERE deal = :d5;
SELECT count(*) AS jars, sum(held) AS held, sum(available) AS available
  FROM escrow.balances WHERE owner LIKE 'ps-jar-%';
SELECT escrow.cancel_deal(:d5, 'too many jars', 'B');
SELECT count(*) AS jars, sum(held) AS held, sum(available) AS available
  FROM escrow.balances WHERE owner LIKE 'ps-jar-%';
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Refusals: nothing changes
-- =====================================================================
-- the other accounts and parties the refusals name
SELECT escrow.open_account('ps-euro', 'EUR') AS euro, escrow.open_account('ps-system', 'USD', 'system') AS sys,
       escrow.open_account('ps-hot', 'USD') AS hot, escrow.open_account('ps-agency', 'USD') AS agency,
       escrow.open_account('ps-other', 'USD') AS other, escrow.open_account('ps-till', 'USD') AS till \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'USD' \gset
SELECT escrow.set_account_shards(:hot, 2);
SELECT escrow.assign_account(:hot, 'B');
SELECT escrow.register_member('X', 'Stranger', 'x@buyer.test', :other),
       escrow.register_institution('AG', 'Agency', 'ag@agency.test', :agency),
       escrow.register_terminal('T-1', 'Station', :till, '{100,500,1000}');
-- d6: reserved from two sources; d7: an agency deal; d8: paid in cash
SELECT escrow.open_deal('B', 'S', 1000) AS d6 \gset
SELECT escrow.issue_identity_code(:d6) AS code \gset
SELECT escrow.confirm_identity(:d6, :'code');
SELECT escrow.set_payment_sources(:d6, ARRAY[:dep, :line]::bigint[], '{600,400}', 'B');
SELECT escrow.reserve(:d6, 'B') IS NOT NULL AS reserved;
SELECT escrow.open_deal('B', 'S', 1000, settlement => 'agency', institution => 'AG') AS d7 \gset
SELECT escrow.issue_identity_code(:d7) AS code \gset
SELECT escrow.confirm_identity(:d7, :'code');
SELECT escrow.open_deal('B', 'S', 1000) AS d8 \gset
SELECT escrow.issue_identity_code(:d8) AS code \gset
SELECT escrow.confirm_identity(:d8, :'code');
SELECT * FROM escrow.pay_cash('T-1', :d8, '{1000}');
SELECT n, d.* FROM (VALUES (6, :d6), (7, :d7), (8, :d8)) v(n, id), pg_temp.deal(v.id) d ORDER BY n;

SELECT pg_temp.fingerprint() AS before \gset
-- the sources do not add up to the deal amount (22023)
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{600,300}', 'B')$$, :'d6', :'dep', :'line')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{600,500}', 'B')$$, :'d6', :'dep', :'line')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{9223372036854775807,1}', 'B')$$, :'d6', :'dep', :'line')),
  -- an account twice (22023)
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s, %s]::bigint[], '{300,400,300}', 'B')$$, :'d6', :'dep', :'line', :'dep')),
  -- zero, negative and NULL amounts, a NULL account (22023)
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{1000,0}', 'B')$$, :'d6', :'dep', :'line')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{1100,-100}', 'B')$$, :'d6', :'dep', :'line')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{NULL,1000}', 'B')$$, :'d6', :'dep', :'line')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, NULL]::bigint[], '{600,400}', 'B')$$, :'d6', :'dep')),
  -- as many amounts as accounts, 1 to 16 of them (22023)
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{1000}', 'B')$$, :'d6', :'dep', :'line')),
  (format($$SELECT escrow.set_payment_sources(%s, '{}', '{}', 'B')$$, :'d6')),
  (format($$SELECT escrow.set_payment_sources(%s, %L::bigint[] || %s::bigint, array_fill(100::bigint, ARRAY[16]) || (-600)::bigint, 'B')$$, :'d6', :'jars', :'dep')),
  -- NULL arguments (22023)
  (format($$SELECT escrow.set_payment_sources(%s, NULL, '{1000}', 'B')$$, :'d6')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s]::bigint[], NULL, 'B')$$, :'d6', :'dep')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s]::bigint[], '{1000}', NULL)$$, :'d6', :'dep')),
  (format($$SELECT escrow.set_payment_sources(NULL, ARRAY[%s]::bigint[], '{1000}', 'B')$$, :'dep'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- no such account or deal (P0002)
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, 999999]::bigint[], '{600,400}', 'B')$$, :'d6', :'dep')),
  (format($$SELECT escrow.set_payment_sources(999999, ARRAY[%s]::bigint[], '{1000}', 'B')$$, :'dep')),
  -- accounts a deal cannot be paid from (22023): a system account, the
  -- funding account
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{600,400}', 'B')$$, :'d6', :'dep', :'sys')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{600,400}', 'B')$$, :'d6', :'dep', :'funding')),
  -- the merchant's own account: not the buyer's (42501)
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{600,400}', 'B')$$, :'d6', :'dep', :'shop')),
  -- another currency (EP004)
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{600,400}', 'B')$$, :'d6', :'dep', :'euro')),
  -- not the buyer: the merchant, a stranger (42501)
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s]::bigint[], '{1000}', 'S')$$, :'d6', :'dep')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s]::bigint[], '{1000}', 'X')$$, :'d6', :'dep')),
  -- financed and cash deals keep their payment method (EP007)
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{600,400}', 'B')$$, :'d7', :'dep', :'line')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{600,400}', 'B')$$, :'d8', :'dep', :'line')),
  -- after settlement, and once the deal has ended (EP007)
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s, %s]::bigint[], '{1000,1000}', 'B')$$, :'d3', :'dep', :'line')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s]::bigint[], '{3000}', 'B')$$, :'d4', :'dep'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- d6 still holds its two sources
SELECT * FROM pg_temp.src(:d6);

-- An account whose deposit has not been folded yet can be a source: the
-- deposit did not touch its row, the hold folds it and counts it
SELECT escrow.deposit(:hot, 700) > 0 AS hot_funded;
SELECT escrow.set_payment_sources(:d6, ARRAY[:hot, :line]::bigint[], '{700,300}', 'B');
SELECT * FROM pg_temp.src(:d6);
SELECT owner, posted, held, available FROM escrow.balances WHERE account = :hot;
SELECT escrow.mark_shipped(:d6, 'DHL', 'T-6', 'S');
SELECT escrow.mark_delivered(:d6, 'S');
SELECT escrow.confirm_inspection(:d6, 'B') IS NULL AS no_single_capture;
SELECT * FROM pg_temp.src(:d6);
SELECT owner, posted, held, available FROM escrow.balances WHERE account = :hot;

SELECT * FROM pg_temp.bal();
SELECT * FROM escrow.verify_ledger();
