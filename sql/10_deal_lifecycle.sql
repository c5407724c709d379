-- 10_deal_lifecycle: the happy path of a deal (open, identity code with one
-- wrong attempt, reserve, ship, deliver via the inspector, confirm), with the
-- money, the progress view, the event outbox, payouts and the stage funnel
-- after it; transaction numbers and their check digit; the transition table
-- and the committed diagram generated from it.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
-- Balances of this file's accounts
CREATE FUNCTION pg_temp.bal() RETURNS TABLE (owner text, posted bigint, held bigint, available bigint)
LANGUAGE sql AS $$
  SELECT owner, posted, held, available FROM escrow.balances WHERE owner LIKE 'lc-%' ORDER BY owner
$$;
-- A deal's events without timestamps, ids and random numbers
CREATE FUNCTION pg_temp.events(bigint) RETURNS TABLE
    (action text, from_stage text, to_stage text, actor text, payload jsonb)
LANGUAGE sql AS $$
  SELECT action, from_stage, to_stage, actor, payload - 'auth_no' - 'capture_transfer' - 'hold'
    FROM escrow.deal_events WHERE deal = $1 ORDER BY id
$$;
-- A deal's progress without timestamps
CREATE FUNCTION pg_temp.progress(bigint) RETURNS TABLE
    (stage text, held bigint, captured bigint, refunded bigint, fee bigint, next_actions text,
     reached text, ended boolean, deadline boolean)
LANGUAGE sql AS $$
  SELECT stage, held, captured, refunded, fee, next_actions,
         concat_ws(',', CASE WHEN order_received_at IS NOT NULL THEN 'ordered' END,
                        CASE WHEN identity_confirmed_at IS NOT NULL THEN 'identified' END,
                        CASE WHEN funds_reserved_at IS NOT NULL THEN 'reserved' END,
                        CASE WHEN shipped_at IS NOT NULL THEN 'shipped' END,
                        CASE WHEN delivered_at IS NOT NULL THEN 'delivered' END,
                        CASE WHEN settled_at IS NOT NULL THEN 'settled' END,
                        CASE WHEN completed_at IS NOT NULL THEN 'completed' END),
         ended_at IS NOT NULL, deadline IS NOT NULL
    FROM escrow.deal_progress WHERE deal = $1
$$;

-- Parties: a member paying from a deposit account, a merchant with a 2.5%
-- fee (250 basis points) going to a fee account.
SELECT escrow.open_account('lc-buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('lc-shop', 'USD') AS shop \gset
SELECT escrow.open_account('lc-fees', 'USD') AS fees \gset
SELECT escrow.deposit(:buyer, 50000) > 0 AS funded;
SELECT escrow.register_member('M-100', 'Mia Member', 'mia@example.test', :buyer);
SELECT escrow.register_merchant('S-200', 'Sam''s Shop', 'orders@shop.test', :shop,
                                fee_bps => 250, fee_account => :fees);
SELECT party_no, kind, account = :buyer AS own_account, settlement_account = :shop AS settles_to_shop,
       fee_account = :fees AS fee_to_fees, fee_bps, inspection_window, cooling_off, login_role
  FROM escrow.parties ORDER BY party_no;

-- open_deal: order_received, the payment method from the buyer's account,
-- the merchant's contract terms copied onto the deal.
SELECT escrow.open_deal('M-100', 'S-200', 10000, inspection_place => 'Berlin store',
                        carrier => 'DHL', provider => 'Secure Goods', inspector => 'inspector-7') AS d \gset
\x on
SELECT txn_no, buyer, merchant, amount, currency, payment_method, debit_account = :buyer AS from_buyer,
       credit_account = :shop AS to_shop, fee_account = :fees AS fee_to_fees, fee_bps,
       inspection_place, carrier, provider, inspector, stage, ship_within, inspection_window,
       cooling_off, deadline IS NULL AS no_deadline, hold_id IS NULL AS no_hold, auth_no IS NULL AS no_auth
  FROM escrow.deals WHERE id = :d;
\x off
SELECT * FROM pg_temp.bal();

-- An 8-digit identity code; only its HMAC is stored.
SELECT escrow.issue_identity_code(:d) AS code \gset
SELECT length(:'code') AS code_len, :'code' ~ '^[0-9]{8}$' AS all_digits;
SELECT length(code_hmac) AS hmac_bytes, code_attempts,
       code_expires_at - e.at BETWEEN interval '900 seconds' AND interval '960 seconds' AS ttl_900s,
       strpos(encode(code_hmac, 'escape'), :'code') = 0 AS code_not_stored
  FROM escrow.deals d JOIN escrow.deal_events e ON e.deal = d.id AND e.action = 'issue_identity_code'
 WHERE d.id = :d;
-- a wrong code: false, counted, the deal stays
SELECT CASE WHEN :'code' = '00000000' THEN '11111111' ELSE '00000000' END AS wrong \gset
SELECT escrow.confirm_identity(:d, :'wrong');
SELECT stage, code_attempts, code_hmac IS NOT NULL AS code_pending FROM escrow.deals WHERE id = :d;
-- the right code
SELECT escrow.confirm_identity(:d, :'code');
SELECT stage, code_attempts, code_hmac IS NULL AS code_cleared, code_expires_at IS NULL AS expiry_cleared
  FROM escrow.deals WHERE id = :d;

-- reserve: the amount is frozen on the buyer's balance; a 10-digit
-- transaction authentication number for both sides.
SELECT escrow.reserve(:d, 'M-100') AS auth \gset
SELECT length(:'auth') AS auth_len, :'auth' ~ '^[0-9]{10}$' AS all_digits,
       auth_no = :'auth' AS recorded, stage, held, hold_id IS NOT NULL AS has_hold,
       deadline - e.at BETWEEN interval '7 days' AND interval '7 days 1 minute' AS ship_within_7_days
  FROM escrow.deals d JOIN escrow.deal_events e ON e.deal = d.id AND e.action = 'reserve' WHERE d.id = :d;
SELECT h.amount, h.remaining, h.debit_account = :buyer AS from_buyer, h.credit_account = :shop AS to_shop,
       h.expires_at IS NULL AS no_expiry
  FROM escrow.open_holds h JOIN escrow.deals d ON d.hold_id = h.hold WHERE d.id = :d;
SELECT * FROM pg_temp.bal();

-- shipped by the merchant (NULL carrier keeps the one given at open_deal)
SELECT escrow.mark_shipped(:d, NULL, 'TRACK-0001', 'S-200');
SELECT stage, carrier, tracking, deadline IS NULL AS no_deadline FROM escrow.deals WHERE id = :d;
-- delivered, reported by the designated inspector: the inspection window starts
SELECT escrow.mark_delivered(:d, 'inspector-7');
SELECT stage, deadline - e.at BETWEEN interval '3 days' AND interval '3 days 1 minute' AS inspect_within_3_days
  FROM escrow.deals d JOIN escrow.deal_events e ON e.deal = d.id AND e.action = 'mark_delivered' WHERE d.id = :d;
-- the buyer confirms: capture to the merchant, the fee to the fee account
SELECT escrow.confirm_inspection(:d, 'M-100') AS capture \gset
SELECT t.kind, t.amount, t.debit_account = :buyer AS from_buyer, t.credit_account = :shop AS to_shop,
       d.capture_transfer = :capture AS recorded
  FROM escrow.transfers t JOIN escrow.deals d ON d.id = :d WHERE t.id = :capture;
SELECT t.kind, t.amount, t.debit_account = :shop AS from_shop, t.credit_account = :fees AS to_fees
  FROM escrow.transfers t JOIN escrow.deals d ON t.id = d.fee_transfer WHERE d.id = :d;
SELECT stage, held, captured, refunded, fee, hold_id IS NOT NULL AS has_hold,
       deadline - e.at BETWEEN interval '8 days' AND interval '8 days 1 minute' AS return_within_8_days
  FROM escrow.deals d JOIN escrow.deal_events e ON e.deal = d.id AND e.action = 'confirm_inspection' WHERE d.id = :d;
SELECT h.status, h.amount, h.captured, h.released FROM escrow.holds h JOIN escrow.deals d ON d.hold_id = h.id
 WHERE d.id = :d;
-- buyer paid 10000; the merchant nets 9750; the fee account has 250
SELECT * FROM pg_temp.bal();

-- What the reporting views say
\x on
SELECT * FROM pg_temp.progress(:d);
SELECT txn_no, buyer, merchant, amount, currency, payment_method, auth_no = :'auth' AS auth_shown,
       inspection_place, carrier, tracking, provider, inspector
  FROM escrow.deal_progress WHERE deal = :d;
\x off
SELECT * FROM pg_temp.events(:d);
SELECT (payload ->> 'auth_no') = :'auth' AS auth_in_event, (payload ->> 'hold')::bigint = hold_id AS hold_in_event
  FROM escrow.deal_events e JOIN escrow.deals d ON d.id = e.deal WHERE e.deal = :d AND e.action = 'reserve';
SELECT (payload ->> 'capture_transfer')::bigint = :capture AS capture_in_event
  FROM escrow.deal_events WHERE deal = :d AND action = 'confirm_inspection';
SELECT merchant, currency, day = (e.at AT TIME ZONE 'UTC')::date AS day_of_settlement, settled, fees, refunds, net
  FROM escrow.merchant_payouts, escrow.deal_events e WHERE e.deal = :d AND e.action = 'confirm_inspection';
SELECT * FROM escrow.stage_funnel;

-- Transaction numbers: EP, the 10-digit id, a Luhn check digit.
SELECT txn_no, txn_no = 'EP' || lpad(id::text, 10, '0') || right(txn_no, 1) AS layout,
       escrow.txn_no_valid(txn_no) AS valid
  FROM escrow.deals WHERE id = :d;
SELECT t AS txn_no, escrow.txn_no_valid(t) AS valid
  FROM (VALUES ('EP00000000018'),   -- right
               ('EP00000000013'),   -- check digit mistyped
               ('EP00000000028'),   -- id digit mistyped
               ('EP00000000108'),   -- neighbours swapped
               ('EP00000000081'),   -- id digit and check digit swapped
               ('EP0000000018'),    -- too short
               ('EP000000000018'),  -- too long
               ('XP00000000018'),   -- wrong prefix
               ('ep00000000018'),   -- lower-case prefix
               ('EP0000000001X'),   -- not a digit
               (''),
               (NULL)) v(t);
-- every single-digit typo and every swap of unequal neighbours is caught
SELECT count(*) FILTER (WHERE escrow.txn_no_valid(typo)) AS typos_accepted, count(*) AS typos
  FROM (SELECT overlay(n.txn_no PLACING d::text FROM p FOR 1) AS typo
          FROM (VALUES ('EP00000000018'), ('EP12345678903'), ('EP98765432103')) n(txn_no),
               generate_series(3, 13) p, generate_series(0, 9) d
         WHERE substr(n.txn_no, p, 1) <> d::text) s;
SELECT n.txn_no, escrow.txn_no_valid(n.txn_no) AS valid,
       count(*) FILTER (WHERE escrow.txn_no_valid(swap)) AS swaps_accepted, count(*) AS swaps
  FROM (VALUES ('EP00000000018'), ('EP12345678903'), ('EP98765432103')) n(txn_no),
       LATERAL (SELECT overlay(n.txn_no PLACING substr(n.txn_no, p + 1, 1) || substr(n.txn_no, p, 1) FROM p FOR 2) AS swap
                  FROM generate_series(3, 12) p
                 WHERE substr(n.txn_no, p, 1) <> substr(n.txn_no, p + 1, 1)
                   AND substr(n.txn_no, p, 2) NOT IN ('09', '90')) s
 GROUP BY n.txn_no ORDER BY n.txn_no;

-- The transition table every check uses
SELECT * FROM escrow.deal_transitions();
-- final stages: no way out
SELECT s.stage FROM (SELECT DISTINCT to_stage AS stage FROM escrow.deal_transitions()) s
 WHERE NOT EXISTS (SELECT 1 FROM escrow.deal_transitions() t WHERE t.from_stage = s.stage)
 ORDER BY 1;

-- docs/deal_lifecycle.dot is what `make diagram` writes from the table
-- (psql -At adds a newline after the value; backticks drop one).
\set dot `cat docs/deal_lifecycle.dot`
SELECT length(:'dot') > 0 AS dot_read,
       rtrim(escrow.state_machine_dot(), E'\n') = rtrim(:'dot', E'\n') AS diagram_in_sync;
SELECT count(*) AS edges FROM regexp_split_to_table(escrow.state_machine_dot(), E'\n') l WHERE l LIKE '% -> %';

SELECT * FROM escrow.verify_ledger();
