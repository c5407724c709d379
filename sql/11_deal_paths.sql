-- 11_deal_paths: every way a deal can end besides the happy path: cancel
-- before and after reserve, expiry, auto-accept and completion by
-- run_maintenance(), rejection within the inspection window, return after
-- settlement, disputes resolved with every kind of split before and after
-- capture, and a buyer paying from a credit line.  Each scenario has its
-- own buyer and merchant (fee 250 basis points), so its balances show
-- exactly what it moved.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
-- A buyer <tag>-B (account <tag>-buyer with 20000) and a merchant <tag>-S
-- (accounts <tag>-shop and <tag>-fees)
CREATE FUNCTION pg_temp.parties(tag text, inspection interval DEFAULT '3 days',
                                cooling interval DEFAULT '8 days') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE b bigint := escrow.open_account(tag || '-buyer', 'USD');
BEGIN
  PERFORM escrow.deposit(b, 20000);
  PERFORM escrow.register_member(tag || '-B', 'Buyer ' || tag, tag || '@buyer.test', b);
  PERFORM escrow.register_merchant(tag || '-S', 'Shop ' || tag, tag || '@shop.test',
                                   escrow.open_account(tag || '-shop', 'USD'), inspection, cooling,
                                   250, escrow.open_account(tag || '-fees', 'USD'));
  RETURN tag || '-B buys from ' || tag || '-S';
END $$;
\i sql/include/deal_at.sql
-- Where a deal and its parties' money stand
CREATE FUNCTION pg_temp.money(bigint) RETURNS TABLE (txn_no text, stage text, held bigint,
    captured bigint, refunded bigint, fee bigint, buyer_posted bigint, buyer_held bigint,
    shop bigint, fees bigint, open_holds bigint)
LANGUAGE sql AS $$
  SELECT d.txn_no, d.stage, d.held, d.captured, d.refunded, d.fee, b.posted, b.held, s.posted, f.posted,
         (SELECT count(*) FROM escrow.open_holds h WHERE h.hold = d.hold_id)
    FROM escrow.deals d
    JOIN escrow.balances b ON b.account = d.debit_account
    JOIN escrow.balances s ON s.account = d.credit_account
    JOIN escrow.balances f ON f.account = d.fee_account
   WHERE d.id = $1
$$;
\i sql/include/events.sql

-- Cancel before reserve (by the merchant, by the buyer): no money moves.
SELECT pg_temp.parties('c1');
SELECT pg_temp.deal_at('c1-B', 'c1-S', 10000, 'order_received') AS c1a \gset
SELECT pg_temp.deal_at('c1-B', 'c1-S', 5000, 'identity_confirmed') AS c1b \gset
SELECT escrow.cancel_deal(:c1a, 'out of stock', 'c1-S');
SELECT escrow.cancel_deal(:c1b, 'changed my mind', 'c1-B');
SELECT n, m.* FROM (VALUES (1, :c1a), (2, :c1b)) v(n, id), pg_temp.money(v.id) m ORDER BY n;
SELECT n, e.action, e.from_stage, e.to_stage, e.actor, e.payload
  FROM (VALUES (1, :c1a), (2, :c1b)) v(n, id), pg_temp.events(v.id) WITH ORDINALITY e ORDER BY n, e.ordinality;
SELECT * FROM escrow.verify_ledger();

-- Cancel after reserve: the hold is released.
SELECT pg_temp.parties('c2');
SELECT pg_temp.deal_at('c2-B', 'c2-S', 10000, 'funds_reserved') AS c2 \gset
SELECT * FROM pg_temp.money(:c2);
SELECT escrow.cancel_deal(:c2, 'found it cheaper', 'c2-B');
SELECT * FROM pg_temp.money(:c2);
SELECT h.status, h.amount, h.captured, h.released FROM escrow.holds h JOIN escrow.deals d ON d.hold_id = h.id
 WHERE d.id = :c2;
SELECT * FROM pg_temp.events(:c2);
SELECT * FROM escrow.verify_ledger();

-- Rejected within the inspection window, then the merchant confirms the
-- return: the hold is released, nothing was captured.
SELECT pg_temp.parties('rj');
SELECT pg_temp.deal_at('rj-B', 'rj-S', 10000, 'delivered') AS rj \gset
SELECT escrow.reject_delivery(:rj, 'wrong colour', 'rj-B');
SELECT * FROM pg_temp.money(:rj);
SELECT escrow.confirm_return(:rj, 'rj-S');
SELECT * FROM pg_temp.money(:rj);
SELECT * FROM pg_temp.events(:rj);
SELECT * FROM escrow.verify_ledger();

-- Returned within cooling-off after settlement: the capture and the fee
-- are refunded; merchant and fee account back to 0, the buyer whole.
SELECT pg_temp.parties('rt');
SELECT pg_temp.deal_at('rt-B', 'rt-S', 10000, 'settled') AS rt \gset
SELECT * FROM pg_temp.money(:rt);
SELECT escrow.request_return(:rt, 'does not fit', 'rt-B');
SELECT * FROM pg_temp.money(:rt);
SELECT escrow.confirm_return(:rt, 'rt-S');
SELECT * FROM pg_temp.money(:rt);
SELECT t.kind, t.amount, t.refund_of = d.capture_transfer AS of_capture, t.refund_of = d.fee_transfer AS of_fee
  FROM escrow.transfers t JOIN escrow.deals d ON t.refund_of IN (d.capture_transfer, d.fee_transfer)
 WHERE d.id = :rt ORDER BY t.id;
SELECT * FROM pg_temp.events(:rt);
SELECT * FROM escrow.verify_ledger();

-- Disputes, opened from shipped, delivered, settled and returned (both
-- kinds of returned), resolved by an administrator.  Before capture the
-- merchant's share is captured and the rest released; after settlement the
-- buyer's share is refunded.  The fee is always 2.5% of the merchant's share.
SELECT pg_temp.parties('d' || n) FROM generate_series(1, 6) n ORDER BY n;
SELECT pg_temp.deal_at('d1-B', 'd1-S', 10000, 'shipped') AS d1 \gset
SELECT pg_temp.deal_at('d2-B', 'd2-S', 10000, 'delivered') AS d2 \gset
SELECT pg_temp.deal_at('d3-B', 'd3-S', 10000, 'delivered') AS d3 \gset
SELECT pg_temp.deal_at('d4-B', 'd4-S', 10000, 'settled') AS d4 \gset
SELECT pg_temp.deal_at('d5-B', 'd5-S', 10000, 'settled') AS d5 \gset
SELECT pg_temp.deal_at('d6-B', 'd6-S', 10000, 'settled') AS d6 \gset
SELECT escrow.reject_delivery(:d3, 'scratched', 'd3-B');
SELECT escrow.request_return(:d6, 'not as described', 'd6-B');
SELECT escrow.open_dispute(:d1, 'never arrived', 'd1-B');
SELECT escrow.open_dispute(:d2, 'buyer is stalling', 'd2-S');
SELECT escrow.open_dispute(:d3, 'scratch was there before', 'd3-S');
SELECT escrow.open_dispute(:d4, 'broke after a day', 'd4-B');
SELECT escrow.open_dispute(:d5, 'counterfeit', 'd5-B');
SELECT escrow.open_dispute(:d6, 'returned item damaged', 'd6-S');
SELECT n, m.* FROM (VALUES (1, :d1), (2, :d2), (3, :d3), (4, :d4), (5, :d5), (6, :d6)) v(n, id),
       pg_temp.money(v.id) m ORDER BY n;
SELECT n, d.stage, d.deadline IS NULL AS no_deadline, p.next_actions
  FROM (VALUES (1, :d1), (4, :d4)) v(n, id) JOIN escrow.deals d ON d.id = v.id
  JOIN escrow.deal_progress p ON p.deal = d.id ORDER BY n;
-- before capture: all to the merchant, all to the buyer, 4000/6000
SELECT escrow.resolve_dispute(:d1, 0, 10000);
SELECT escrow.resolve_dispute(:d2, 10000, 0);
SELECT escrow.resolve_dispute(:d3, 4000, 6000);
-- after settlement: the same three splits
SELECT escrow.resolve_dispute(:d4, 0, 10000);
SELECT escrow.resolve_dispute(:d5, 10000, 0);
SELECT escrow.resolve_dispute(:d6, 4000, 6000);
SELECT n, m.* FROM (VALUES (1, :d1), (2, :d2), (3, :d3), (4, :d4), (5, :d5), (6, :d6)) v(n, id),
       pg_temp.money(v.id) m ORDER BY n;
SELECT n, e.actor = current_user AS by_admin, e.payload - 'capture_transfer' AS payload
  FROM (VALUES (1, :d1), (2, :d2), (3, :d3), (4, :d4), (5, :d5), (6, :d6)) v(n, id)
  JOIN escrow.deal_events e ON e.deal = v.id AND e.action = 'resolve_dispute' ORDER BY n;
SELECT * FROM pg_temp.events(:d6);
SELECT * FROM escrow.verify_ledger();

-- run_maintenance(): an unshipped reserved deal expires, a delivered deal
-- past the inspection window is accepted, a settled deal past cooling-off
-- completes; at most max_deals, earliest deadline first.  (The "mx" merchant
-- gives 1 second to inspect and 1 second to return.)
SELECT pg_temp.parties('ex');
SELECT pg_temp.parties('mx', '1 second', '1 second');
SELECT pg_temp.deal_at('ex-B', 'ex-S', 10000, 'funds_reserved', ship => '1 second') AS ex \gset
SELECT pg_temp.deal_at('mx-B', 'mx-S', 10000, 'delivered') AS aa \gset
SELECT pg_temp.deal_at('mx-B', 'mx-S', 3000, 'settled') AS co \gset
SELECT pg_temp.deal_at('ex-B', 'ex-S', 2000, 'funds_reserved') AS later \gset
SELECT pg_sleep(1.2);
SELECT * FROM escrow.run_maintenance(1);
SELECT * FROM escrow.run_maintenance();
SELECT n, m.* FROM (VALUES (1, :ex), (2, :later), (3, :aa), (4, :co)) v(n, id),
       pg_temp.money(v.id) m ORDER BY n;
SELECT * FROM pg_temp.events(:ex);
SELECT * FROM pg_temp.events(:aa);
-- the auto-accepted deal now has its own cooling-off to wait out
SELECT pg_sleep(1.2);
SELECT * FROM escrow.run_maintenance();
SELECT * FROM escrow.run_maintenance();
SELECT n, m.* FROM (VALUES (3, :aa), (4, :co)) v(n, id), pg_temp.money(v.id) m ORDER BY n;
SELECT * FROM pg_temp.events(:co);
SELECT stage, deadline IS NULL AS no_deadline, next_actions, completed_at IS NOT NULL AS completed,
       ended_at IS NULL AS not_ended
  FROM escrow.deal_progress WHERE deal = :aa;
SELECT * FROM escrow.verify_ledger();

-- A buyer paying from a credit line (opened by an administrator): the
-- hold and the capture count against the line; a return gives it back.
SELECT escrow.open_account('cr-line', 'USD', 'credit', 30000) AS line \gset
SELECT escrow.register_member('cr-B', 'Credit buyer', 'cr@buyer.test', :line);
SELECT escrow.register_merchant('cr-S', 'Shop cr', 'cr@shop.test', escrow.open_account('cr-shop', 'USD'),
                                fee_bps => 250, fee_account => escrow.open_account('cr-fees', 'USD'));
SELECT pg_temp.deal_at('cr-B', 'cr-S', 12000, 'identity_confirmed') AS cr \gset
SELECT payment_method, debit_account = :line AS on_the_line FROM escrow.deals WHERE id = :cr;
SELECT escrow.reserve(:cr, 'cr-B') IS NOT NULL AS reserved;
SELECT owner, posted, held, credit_limit, available FROM escrow.balances WHERE account = :line;
SELECT escrow.mark_shipped(:cr, NULL, 'CR-1', 'cr-S');
SELECT escrow.mark_delivered(:cr, 'cr-S');
SELECT escrow.confirm_inspection(:cr, 'cr-B') > 0 AS settled;
SELECT owner, posted, held, credit_limit, available FROM escrow.balances WHERE owner LIKE 'cr-%' ORDER BY owner;
SELECT * FROM pg_temp.money(:cr);
SELECT escrow.request_return(:cr, 'too big', 'cr-B');
SELECT escrow.confirm_return(:cr, 'cr-S');
SELECT owner, posted, held, credit_limit, available FROM escrow.balances WHERE owner LIKE 'cr-%' ORDER BY owner;
SELECT * FROM pg_temp.money(:cr);
SELECT * FROM escrow.verify_ledger();

-- Payouts per merchant (fee refunds show as negative fees) and the funnel
SELECT merchant, currency, settled, fees, refunds, net FROM escrow.merchant_payouts ORDER BY merchant;
SELECT * FROM escrow.stage_funnel ORDER BY stage;
SELECT count(*) AS deals, count(*) FILTER (WHERE escrow.txn_no_valid(txn_no)) AS valid_txn_nos
  FROM escrow.deals;
SELECT * FROM escrow.verify_ledger();
