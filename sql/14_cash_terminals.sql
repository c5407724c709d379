-- 14_cash_terminals: cash terminals with automatic change.
-- escrow.make_change (exact, fewest pieces, bounded by what the machine
-- holds, right where greedy is wrong) and its refusals; registering,
-- loading and unloading terminals and the terminal_inventory view;
-- pay_cash pay-now (change given, deal reserved by a hold on the
-- terminal's cash account, then shipped, delivered and paid out to the
-- merchant) and pay-later (serve_first, then pay_cash settles); refusals,
-- each followed by a check that nothing changed.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- Everything a refused call could have touched: accounts, holds, the
-- journal, deals and their events, terminals and their cash.
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
-- Balances of this file's accounts
CREATE FUNCTION pg_temp.bal() RETURNS TABLE (owner text, posted bigint, held bigint, available bigint)
LANGUAGE sql AS $$
  SELECT owner, posted, held, available FROM escrow.balances WHERE owner LIKE 'ct-%' ORDER BY owner
$$;
-- A terminal's inventory, one row per denomination
CREATE FUNCTION pg_temp.till(text) RETURNS TABLE (denomination bigint, pieces integer)
LANGUAGE sql AS $$
  SELECT denomination, pieces FROM escrow.terminal_cash WHERE terminal_no = $1 ORDER BY denomination
$$;
-- The terminal inventory view, without names
CREATE FUNCTION pg_temp.inv() RETURNS TABLE (terminal_no text, currency text, cash_value bigint,
    account_balance bigint, held_for_deals bigint, pieces jsonb)
LANGUAGE sql AS $$
  SELECT terminal_no, currency, cash_value, account_balance, held_for_deals, pieces
    FROM escrow.terminal_inventory ORDER BY terminal_no
$$;

-- =====================================================================
-- make_change(amount, denominations, counts): pieces of each denomination
-- adding up to amount exactly, fewest pieces, never more than the counts.
-- =====================================================================

-- Greedy fails: owing 6 with {1, 3, 4} and no 1s left, greedy takes the 4
-- and is stuck; 3 + 3 works.
SELECT escrow.make_change(6, '{1,3,4}', '{0,5,5}') AS no_ones;
-- with 1s available greedy would pay 4 + 1 + 1 (3 pieces): 3 + 3 is fewer
SELECT escrow.make_change(6, '{1,3,4}', '{5,5,5}') AS fewest;
-- the order of the denominations does not matter
SELECT escrow.make_change(6, '{4,3,1}', '{5,5,0}') AS any_order;
-- 30 with {1, 10, 25}: greedy pays 25 + 5 x 1 (6 pieces), 3 x 10 is 3
SELECT escrow.make_change(30, '{1,10,25}', '{10,10,10}') AS thirty;
-- bounded counts: EUR cents, 60 owed, one 50c and three 20c in the machine
-- (greedy takes the 50c and is stuck)
SELECT escrow.make_change(60, '{1,2,5,10,20,50}', '{0,0,0,0,3,1}') AS sixty_cents;
-- impossible: NULL
SELECT escrow.make_change(6, '{1,3,4}', '{0,1,5}') IS NULL AS six_impossible,
       escrow.make_change(7, '{5,10}', '{10,10}') IS NULL AS seven_impossible,
       escrow.make_change(1, '{2}', '{0}') IS NULL AS nothing_in_machine;
-- limited counts: 63 with one quarter left is 25 + 10 + 10 + 10 + 5 + 1 + 1 + 1
SELECT escrow.make_change(63, '{1,5,10,25}', '{10,10,10,1}') AS one_quarter,
       escrow.make_change(63, '{1,5,10,25}', '{10,10,10,0}') AS no_quarters,
       escrow.make_change(63, '{1,5,10,25}', '{2,1,6,0}') AS short_of_ones;
-- zero change: nothing of anything, whatever the machine holds
SELECT escrow.make_change(0, '{1,5,10,25}', '{0,0,0,0}') AS zero,
       escrow.make_change(0, '{1,5,10,25}', '{9,9,9,9}') AS zero_too;
-- classic US coins, plenty of each
SELECT a AS amount, escrow.make_change(a, '{1,5,10,25}', '{100,100,100,100}') AS pieces
  FROM unnest(ARRAY[1, 4, 30, 41, 63, 99]) a;
-- a large JPY amount (yen have no minor unit): coins 1..500, notes
-- 1000..10000, 100 of each; and with only 90 10000-yen notes left
SELECT escrow.make_change(987654, '{1,5,10,50,100,500,1000,2000,5000,10000}',
                          '{100,100,100,100,100,100,100,100,100,100}') AS jpy;
SELECT c AS pieces, (SELECT sum(c[i]) FROM generate_subscripts(c, 1) i) AS total_pieces,
       (SELECT sum(d[i] * c[i]) FROM generate_subscripts(c, 1) i) AS value
  FROM (SELECT '{1,5,10,50,100,500,1000,2000,5000,10000}'::bigint[] AS d) x,
       LATERAL (SELECT escrow.make_change(987654, d, '{100,100,100,100,100,100,100,100,100,90}') AS c) y;
-- the largest change computed: 1,000,000 minor units
SELECT escrow.make_change(1000000, '{1000,10000}', '{1000,100}') AS one_million;
-- STRICT: a NULL argument gives NULL
SELECT escrow.make_change(NULL, '{1}', '{1}') IS NULL AS null_amount,
       escrow.make_change(1, NULL, '{1}') IS NULL AS null_denominations;

-- refusals (22023)
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.make_change(6, '{1,3,4}', '{1,1}')$$),
  ($$SELECT escrow.make_change(6, '{}', '{}')$$),
  ($$SELECT escrow.make_change(6, '{1,-3}', '{1,1}')$$),
  ($$SELECT escrow.make_change(6, '{0,3}', '{1,1}')$$),
  ($$SELECT escrow.make_change(6, '{1,3}', '{1,-1}')$$),
  ($$SELECT escrow.make_change(6, '{1,NULL}', '{1,1}')$$),
  ($$SELECT escrow.make_change(6, '{1,3}', '{NULL,1}')$$),
  ($$SELECT escrow.make_change(-1, '{1,3}', '{1,1}')$$),
  ($$SELECT escrow.make_change(1000001, '{1}', '{2000000}')$$)) AS t(c);

-- =====================================================================
-- Parties and accounts.  JPY: member M-1 buys from merchant S-1 (2.5% fee);
-- each terminal has its own deposit account.  EUR: member M-2, merchant
-- S-2 (no fee) and a EUR terminal.
-- =====================================================================
SELECT escrow.open_account('ct-buyer', 'JPY') AS buyer \gset
SELECT escrow.open_account('ct-shop', 'JPY') AS shop \gset
SELECT escrow.open_account('ct-fees', 'JPY') AS fees \gset
SELECT escrow.open_account('ct-till-1', 'JPY') AS till1 \gset
SELECT escrow.open_account('ct-till-2', 'JPY') AS till2 \gset
SELECT escrow.open_account('ct-credit', 'JPY', 'credit', 100000) AS credit \gset
SELECT escrow.open_account('ct-eu-buyer', 'EUR') AS eubuyer \gset
SELECT escrow.open_account('ct-eu-shop', 'EUR') AS eushop \gset
SELECT escrow.open_account('ct-eu-till', 'EUR') AS eutill \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'JPY' \gset
SELECT escrow.register_member('M-1', 'Mio', 'mio@example.test', :buyer),
       escrow.register_merchant('S-1', 'Station Kiosk', 'kiosk@example.test', :shop,
                                fee_bps => 250, fee_account => :fees);
SELECT escrow.register_member('M-2', 'Max', 'max@example.test', :eubuyer),
       escrow.register_merchant('S-2', 'Café', 'cafe@example.test', :eushop);

-- =====================================================================
-- Terminals: each takes one currency (its cash account's) and a set of
-- denominations; empty at first.
-- =====================================================================
SELECT escrow.register_terminal('T-1', 'Shinjuku station', :till1,
                                '{1,5,10,50,100,500,1000,5000,10000}');
-- a machine for notes and 500-yen coins; a denomination listed twice counts once
SELECT escrow.register_terminal('T-2', 'Ueno park', :till2, '{1000,500,5000,10000,1000}');
SELECT escrow.register_terminal('T-EU', 'Berlin Hbf', :eutill, '{1,2,5,10,20,50,100,200,500,1000,2000}');
SELECT terminal_no, name, currency, cash_account = :till1 AS till1, cash_account = :till2 AS till2,
       cash_account = :eutill AS eutill
  FROM escrow.terminals ORDER BY terminal_no;
SELECT * FROM pg_temp.till('T-2');
SELECT * FROM pg_temp.inv();

-- registration refusals: nothing changes
SELECT pg_temp.fingerprint() AS before \gset
-- the terminal number is taken (22023)
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.register_terminal('T-1', 'Again', %s, '{1}')$$, :'credit')),
  -- the cash account is already another terminal's (P0002)
  (format($$SELECT escrow.register_terminal('T-9', 'Shared till', %s, '{1}')$$, :'till1')),
  -- not a deposit account: a credit line, the funding account, no account (P0002)
  (format($$SELECT escrow.register_terminal('T-9', 'On credit', %s, '{1}')$$, :'credit')),
  (format($$SELECT escrow.register_terminal('T-9', 'On funding', %s, '{1}')$$, :'funding')),
  ($$SELECT escrow.register_terminal('T-9', 'Nowhere', 999999, '{1}')$$),
  -- bad arguments (22023)
  (format($$SELECT escrow.register_terminal(NULL, 'No number', %s, '{1}')$$, :'credit')),
  (format($$SELECT escrow.register_terminal('', 'Empty number', %s, '{1}')$$, :'credit')),
  (format($$SELECT escrow.register_terminal(repeat('T', 65), 'Long number', %s, '{1}')$$, :'credit')),
  (format($$SELECT escrow.register_terminal('T-9', NULL, %s, '{1}')$$, :'credit')),
  ($$SELECT escrow.register_terminal('T-9', 'No account', NULL, '{1}')$$),
  (format($$SELECT escrow.register_terminal('T-9', 'No pieces', %s, '{}')$$, :'credit')),
  (format($$SELECT escrow.register_terminal('T-9', 'NULL pieces', %s, NULL)$$, :'credit')),
  (format($$SELECT escrow.register_terminal('T-9', 'Zero piece', %s, '{0,1}')$$, :'credit')),
  (format($$SELECT escrow.register_terminal('T-9', 'NULL piece', %s, '{1,NULL}')$$, :'credit'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- =====================================================================
-- Loading and unloading: pieces in or out, their value deposited to or
-- withdrawn from the cash account.
-- =====================================================================
SELECT escrow.load_terminal_cash('T-1', '{1,5,10,50,100,500,1000}', '{50,20,50,20,50,20,20}') AS loaded;
SELECT t.kind, t.debit_account = :funding AS from_funding, t.credit_account = :till1 AS to_till1, t.amount
  FROM escrow.transfers t WHERE t.id = (SELECT max(id) FROM escrow.transfers);
SELECT escrow.load_terminal_cash('T-2', '{1000}', '{2}') AS loaded;
SELECT escrow.load_terminal_cash('T-EU', '{20,50}', '{3,1}') AS loaded;
SELECT * FROM pg_temp.inv();
-- unload part of T-1: withdrawn
SELECT escrow.unload_terminal_cash('T-1', '{1,5}', '{30,10}') AS unloaded;
SELECT t.kind, t.debit_account = :till1 AS from_till1, t.credit_account = :funding AS to_funding, t.amount
  FROM escrow.transfers t WHERE t.id = (SELECT max(id) FROM escrow.transfers);
SELECT * FROM pg_temp.till('T-1');
SELECT * FROM pg_temp.bal();

-- load/unload refusals: nothing changes
SELECT pg_temp.fingerprint() AS before \gset
-- more pieces than the terminal holds (EP001)
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.unload_terminal_cash('T-1', '{1,5}', '{21,1}')$$),
  ($$SELECT escrow.unload_terminal_cash('T-1', '{5000}', '{1}')$$),
  -- a denomination the terminal does not take (22023)
  ($$SELECT escrow.load_terminal_cash('T-1', '{2000}', '{1}')$$),
  ($$SELECT escrow.unload_terminal_cash('T-2', '{100}', '{1}')$$),
  -- bad arguments (22023)
  ($$SELECT escrow.load_terminal_cash('T-1', '{1,5}', '{1}')$$),
  ($$SELECT escrow.load_terminal_cash('T-1', '{1}', '{0}')$$),
  ($$SELECT escrow.load_terminal_cash('T-1', '{1}', '{-3}')$$),
  ($$SELECT escrow.load_terminal_cash('T-1', '{1}', '{NULL}')$$),
  ($$SELECT escrow.load_terminal_cash('T-1', '{}', '{}')$$),
  ($$SELECT escrow.load_terminal_cash(NULL, '{1}', '{1}')$$),
  -- no such terminal (P0002)
  ($$SELECT escrow.load_terminal_cash('T-404', '{1}', '{1}')$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- =====================================================================
-- Pay now: the buyer pays at the terminal before shipping.  The change
-- comes from what the machine holds after taking the cash in; the amount
-- stays in the machine, is deposited to its cash account and held there
-- for the merchant; the deal is funds_reserved.
-- =====================================================================
SELECT escrow.open_deal('M-1', 'S-1', 3280) AS d1 \gset
SELECT escrow.issue_identity_code(:d1) AS code \gset
SELECT escrow.confirm_identity(:d1, :'code');
CREATE TEMP TABLE before_pay AS SELECT * FROM pg_temp.till('T-1');
-- 3 x 1000 + 500 + 100 tendered (3600, each piece listed) for 3280: 320
-- change, 3 x 100 + 2 x 10 (fewest pieces)
SELECT * FROM escrow.pay_cash('T-1', :d1, '{1000,1000,1000,500,100}');
-- the inventory moved by exactly the pieces in and out: +3 x 1000,
-- +500, +100 - 3 x 100, -2 x 10
SELECT b.denomination, b.pieces AS before, a.pieces AS after, a.pieces - b.pieces AS moved,
       (a.pieces - b.pieces) * b.denomination AS value
  FROM before_pay b JOIN pg_temp.till('T-1') a USING (denomination) ORDER BY denomination;
SELECT sum((a.pieces - b.pieces) * b.denomination) AS value_kept
  FROM before_pay b JOIN pg_temp.till('T-1') a USING (denomination);
-- the deal: paid in cash from the terminal's account, reserved
SELECT stage, payment_method, debit_account = :till1 AS from_till1, credit_account = :shop AS to_shop,
       held, hold_id IS NOT NULL AS has_hold, deadline IS NOT NULL AS ship_deadline
  FROM escrow.deals WHERE id = :d1;
SELECT action, from_stage, to_stage, actor, payload - 'hold' AS payload,
       (payload ->> 'hold')::bigint = (SELECT hold_id FROM escrow.deals WHERE id = :d1) AS hold_in_event
  FROM escrow.deal_events WHERE deal = :d1 AND action = 'pay_cash';
-- the amount deposited to the cash account and held there for the merchant
SELECT t.kind, t.debit_account = :funding AS from_funding, t.credit_account = :till1 AS to_till1, t.amount
  FROM escrow.transfers t WHERE t.id = (SELECT max(id) FROM escrow.transfers);
SELECT h.debit_account = :till1 AS from_till1, h.credit_account = :shop AS to_shop, h.amount, h.remaining,
       h.expires_at IS NULL AS no_expiry
  FROM escrow.open_holds h JOIN escrow.deals d ON d.hold_id = h.hold WHERE d.id = :d1;
SELECT * FROM pg_temp.inv() WHERE terminal_no = 'T-1';
SELECT * FROM pg_temp.bal();

SELECT pg_temp.fingerprint() AS before \gset
-- paying twice: the deal is funds_reserved (EP007)
SELECT * FROM escrow.pay_cash('T-1', :d1, '{5000}');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- shipped and delivered; paying again now is refused, the amount is held
-- already (EP007)
SELECT escrow.mark_shipped(:d1, 'Yamato', 'YM-1', 'S-1');
SELECT escrow.mark_delivered(:d1, 'S-1');
SELECT pg_temp.fingerprint() AS before \gset
SELECT * FROM escrow.pay_cash('T-1', :d1, '{5000}');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- the buyer confirms: the hold is captured to the merchant, less the fee
-- (250 bps of 3280 = 82)
SELECT escrow.confirm_inspection(:d1, 'M-1') AS capture \gset
SELECT t.kind, t.debit_account = :till1 AS from_till1, t.credit_account = :shop AS to_shop, t.amount
  FROM escrow.transfers t WHERE t.id = :capture;
SELECT stage, held, captured, fee FROM escrow.deals WHERE id = :d1;
-- the merchant is paid; the cash account's balance is what is not yet
-- paid out to merchants, so it is now 3280 below the cash in the machine
SELECT * FROM pg_temp.bal();
SELECT * FROM pg_temp.inv() WHERE terminal_no = 'T-1';

-- =====================================================================
-- Pay later: the merchant serves first (identity_confirmed -> delivered,
-- no money yet); the buyer pays at a terminal afterwards, which settles
-- the deal at once.
-- =====================================================================
SELECT escrow.open_deal('M-1', 'S-1', 1200) AS d2 \gset
SELECT escrow.issue_identity_code(:d2) AS code \gset
SELECT escrow.confirm_identity(:d2, :'code');
SELECT escrow.serve_first(:d2, 'S-1');
-- the payment deadline: now + the merchant's pay_within (7 days by default)
SELECT stage, held, hold_id IS NULL AS no_hold,
       deadline BETWEEN now() + pay_within - interval '1 minute' AND clock_timestamp() + pay_within AS pay_by
  FROM escrow.deals WHERE id = :d2;
-- nothing can be captured before the buyer pays (EP007), nothing changes
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.confirm_inspection(:d2, 'M-1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- and maintenance leaves it alone: its payment deadline has not passed (and
-- when it has, the deal is marked unpaid, never auto-accepted: see
-- 27_deal_deadlines)
SELECT * FROM escrow.run_maintenance();
SELECT stage FROM escrow.deals WHERE id = :d2;
-- the buyer pays 1000 + 500 for 1200: 300 change, 3 x 100; the deal is
-- settled: the merchant gets 1200 less 30 fee
CREATE TEMP TABLE before_later AS SELECT * FROM pg_temp.till('T-1');
SELECT * FROM escrow.pay_cash('T-1', :d2, '{1000,500}');
SELECT b.denomination, a.pieces - b.pieces AS moved
  FROM before_later b JOIN pg_temp.till('T-1') a USING (denomination)
 WHERE a.pieces <> b.pieces ORDER BY denomination;
SELECT stage, payment_method, debit_account = :till1 AS from_till1, held, captured, fee,
       deadline IS NOT NULL AS return_deadline
  FROM escrow.deals WHERE id = :d2;
SELECT h.status, h.amount, h.captured, h.released, h.debit_account = :till1 AS from_till1
  FROM escrow.holds h JOIN escrow.deals d ON d.hold_id = h.id WHERE d.id = :d2;
SELECT action, from_stage, to_stage, actor FROM escrow.deal_events WHERE deal = :d2 ORDER BY id;
SELECT * FROM pg_temp.bal();
SELECT * FROM pg_temp.inv() WHERE terminal_no = 'T-1';
-- paying twice: settled (EP007)
SELECT pg_temp.fingerprint() AS before \gset
SELECT * FROM escrow.pay_cash('T-1', :d2, '{1000,500}');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- =====================================================================
-- Greedy fails at a terminal too: T-EU holds one 50c and three 20c; 4.40
-- paid with a 5-euro note needs 60c change: 3 x 20c, not 50c + ?
-- =====================================================================
SELECT escrow.open_deal('M-2', 'S-2', 440) AS d4 \gset
SELECT escrow.issue_identity_code(:d4) AS code \gset
SELECT escrow.confirm_identity(:d4, :'code');
SELECT * FROM escrow.pay_cash('T-EU', :d4, '{500}');
SELECT * FROM pg_temp.till('T-EU') WHERE pieces > 0;
SELECT stage, held FROM escrow.deals WHERE id = :d4;

-- =====================================================================
-- pay_cash refusals on a deal ready to pay (2500 yen): nothing changes,
-- neither the inventory nor the ledger nor the deal.
-- =====================================================================
SELECT escrow.open_deal('M-1', 'S-1', 2500) AS d3 \gset
SELECT escrow.issue_identity_code(:d3) AS code \gset
SELECT escrow.confirm_identity(:d3, :'code');
SELECT escrow.open_deal('M-1', 'S-1', 700) AS d5 \gset
SELECT pg_temp.fingerprint() AS before \gset
-- too little cash (EP001)
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, '{1000,1000,100,100,100,100}')$$, :'d3')),
  -- no exact change (EP001): T-2 holds two 1000-yen notes and no 500s;
  -- 5000 for 2500 needs 2500 back, 10000 needs 7500: 1000s cannot make either
  (format($$SELECT * FROM escrow.pay_cash('T-2', %s, '{5000}')$$, :'d3')),
  (format($$SELECT * FROM escrow.pay_cash('T-2', %s, '{10000}')$$, :'d3')),
  -- a denomination the terminal does not take (22023)
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, '{2000,500}')$$, :'d3')),
  -- change above 1,000,000 (22023): 101 10000-yen notes for 2500
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, array_fill(10000::bigint, ARRAY[101]))$$, :'d3')),
  -- a EUR terminal for a JPY deal (EP004)
  (format($$SELECT * FROM escrow.pay_cash('T-EU', %s, '{500,500,500,500,500}')$$, :'d3')),
  -- no such terminal (P0002), no such deal (P0002)
  (format($$SELECT * FROM escrow.pay_cash('T-404', %s, '{1000,1000,500}')$$, :'d3')),
  ($$SELECT * FROM escrow.pay_cash('T-1', 999999, '{1000,1000,500}')$$),
  -- wrong stage: identity not confirmed yet (EP007)
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, '{500,100,100}')$$, :'d5')),
  -- bad arguments (22023)
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, '{}')$$, :'d3')),
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, NULL)$$, :'d3')),
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, '{1000,1000,500,0}')$$, :'d3')),
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, '{1000,1000,500,-100}')$$, :'d3')),
  (format($$SELECT * FROM escrow.pay_cash('T-1', %s, '{1000,1000,500,NULL}')$$, :'d3')),
  (format($$SELECT * FROM escrow.pay_cash(NULL, %s, '{1000,1000,500}')$$, :'d3')),
  ($$SELECT * FROM escrow.pay_cash('T-1', NULL, '{1000,1000,500}')$$),
  -- serve_first: only the merchant (42501), only from identity_confirmed (EP007)
  (format($$SELECT escrow.serve_first(%s, 'M-1')$$, :'d3')),
  (format($$SELECT escrow.serve_first(%s, 'S-1')$$, :'d5')),
  (format($$SELECT escrow.serve_first(%s, NULL)$$, :'d3'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT * FROM pg_temp.till('T-2');
SELECT stage, payment_method, debit_account = :buyer AS from_buyer, held FROM escrow.deals WHERE id = :d3;

-- the exact amount needs no change: nothing comes back
SELECT * FROM escrow.pay_cash('T-2', :d3, '{1000,1000,500}');
SELECT * FROM pg_temp.till('T-2');
SELECT stage, payment_method, held FROM escrow.deals WHERE id = :d3;
-- cancelled before shipping: the hold is released; the cash stays in the
-- machine and on its cash account, which can then be unloaded in full
SELECT escrow.cancel_deal(:d3, 'changed my mind', 'M-1');
SELECT stage, held FROM escrow.deals WHERE id = :d3;
SELECT escrow.unload_terminal_cash('T-2', '{500,1000}', '{1,4}') AS unloaded;
SELECT * FROM pg_temp.inv() WHERE terminal_no = 'T-2';

SELECT * FROM pg_temp.bal();
SELECT * FROM escrow.verify_ledger();
