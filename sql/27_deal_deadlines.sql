-- 27_deal_deadlines: no deal waits forever, and disputes work for every
-- settlement model.  Every stage that is not final has a deadline that
-- run_maintenance() enforces or an exit for the party that waits:
--   shipped, never delivered: delivery deadline (merchant's deliver_within),
--     then escalate (system) to a dispute, money frozen; the buyer may open
--     the dispute itself at any time, also for agency and credit-finance
--     deals; a late mark_delivered is refused.
--   returned, never confirmed: refund deadline (refund_within), then
--     auto_confirm_return refunds the buyer as confirm_return would; the
--     merchant may dispute the return only before it.
--   served first, never paid (escrow): payment deadline (pay_within), then
--     mark_unpaid; the buyer may still pay at a terminal, the merchant may
--     write it off (no money was held, none moves).  Agency deals served
--     first get the inspection window and are accepted automatically.
-- Disputes of agency and credit-finance deals, from before receipt
-- (shipped, delivered, rejected) and after it (settled, returned after
-- settlement), split exactly: the payout or pre-payment, the fee, the
-- buyer's credit line and the receivable (written down to the merchant's
-- share) follow the split; verify_ledger() stays empty.  Refusals change
-- nothing (fingerprint).
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
\i sql/include/deal_at.sql
-- move a deal's deadline into the past (as run_maintenance would find it later)
CREATE FUNCTION pg_temp.due(d bigint) RETURNS void LANGUAGE sql AS $$
  UPDATE escrow.deals SET deadline = now() - interval '1 minute' WHERE id = d
$$;
-- what the run did, without the zero rows
CREATE FUNCTION pg_temp.sweep() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(action || '=' || deals, ' ' ORDER BY action) FILTER (WHERE deals > 0), 'nothing')
    FROM escrow.run_maintenance()
$$;
CREATE VIEW money AS
  SELECT string_agg(format('%s %s/%s', owner, posted, held), ', ' ORDER BY account) AS balances
    FROM escrow.balances WHERE owner NOT LIKE 'escrow:%' AND owner NOT IN ('cb wallet', 'shop 2');
CREATE FUNCTION pg_temp.deal(d bigint) RETURNS TABLE (stage text, held bigint, captured bigint,
    refunded bigint, fee bigint, deadline_set boolean, next_actions text)
LANGUAGE sql AS $$
  SELECT p.stage, p.held, p.captured, p.refunded, p.fee, p.deadline IS NOT NULL, p.next_actions
    FROM escrow.deal_progress p WHERE p.deal = d
$$;
CREATE FUNCTION pg_temp.receivable(d bigint) RETURNS TABLE (kind text, amount bigint, paid bigint,
    written_down bigint, outstanding bigint, status text)
LANGUAGE sql AS $$
  SELECT r.kind, r.amount, r.paid, r.written_down, v.outstanding, r.status
    FROM escrow.receivables r JOIN escrow.receivables_due v ON v.receivable = r.id WHERE r.deal = d
$$;

SELECT escrow.open_account('line', 'USD', 'credit', 100000) AS line,
       escrow.open_account('wallet', 'USD') AS wallet, escrow.open_account('shop', 'USD') AS shop,
       escrow.open_account('fees', 'USD') AS fees, escrow.open_account('bank', 'USD') AS bank,
       escrow.open_account('agency', 'USD') AS agency, escrow.open_account('till', 'USD') AS till,
       escrow.open_account('cb wallet', 'USD') AS cbwallet, escrow.open_account('shop 2', 'USD') AS shop2 \gset
SELECT escrow.deposit(:wallet, 100000) > 0, escrow.deposit(:bank, 100000) > 0,
       escrow.deposit(:agency, 100000) > 0, escrow.deposit(:cbwallet, 100000) > 0;
SELECT escrow.register_member('CB', 'Credit buyer', 'cb@test', :line),
       escrow.register_member('DB', 'Deposit buyer', 'db@test', :wallet),
       escrow.register_merchant('S', 'Shop', 's@test', :shop, fee_bps => 250, fee_account => :fees,
                                deliver_within => '10 days', refund_within => '5 days',
                                pay_within => '2 days'),
       escrow.register_institution('CF', 'Bank', 'cf@test', :bank, discount_bps => 300),
       escrow.register_institution('AG', 'Agency', 'ag@test', :agency);
SELECT escrow.assign_account(:cbwallet, 'CB');
SELECT escrow.register_terminal('T1', 'USD', :till, ARRAY[1000, 5000]);
SELECT party_no, deliver_within, refund_within, pay_within FROM escrow.parties WHERE kind = 'merchant';
-- the defaults: 14 days to deliver, 14 days to confirm a return, 7 days to pay
SELECT escrow.register_merchant('S2', 'Other shop', 's2@test', :shop2);
SELECT deliver_within, refund_within, pay_within FROM escrow.parties WHERE party_no = 'S2';
SELECT escrow.register_merchant('S3', 'Bad terms', 's3@test', :shop2, deliver_within => '0 days');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.register_merchant('S3', 'Bad terms', 's3@test', :shop2, pay_within => NULL);
\echo :LAST_ERROR_SQLSTATE

-- ======================================================================
-- Shipped, never delivered
-- ======================================================================
-- the delivery deadline starts at mark_shipped: now + deliver_within
SELECT pg_temp.deal_at('DB', 'S', 10000, 'shipped') AS e1 \gset
SELECT stage, deadline BETWEEN now() + interval '10 days' - interval '1 minute'
                           AND clock_timestamp() + interval '10 days' AS deliver_by,
       deliver_within, refund_within, pay_within
  FROM escrow.deals WHERE id = :e1;
SELECT * FROM pg_temp.deal(:e1);
-- past it, a late delivery report is refused and changes nothing
SELECT pg_temp.due(:e1);
SELECT pg_temp.fingerprint() AS before \gset
SELECT pg_temp.error_of(format($$SELECT escrow.mark_delivered(%s, 'S')$$, :e1));
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- run_maintenance escalates it to a dispute; the money stays frozen
SELECT pg_temp.sweep();
SELECT * FROM pg_temp.deal(:e1);
SELECT action, from_stage, to_stage, actor, payload FROM escrow.deal_events WHERE deal = :e1 ORDER BY id DESC LIMIT 1;
SELECT pg_temp.sweep();
-- the adjudicator gives it all back
SELECT escrow.resolve_dispute(:e1, 10000, 0);
SELECT * FROM pg_temp.deal(:e1);

-- credit finance, shipped: the buyer may open a dispute (it was EP007)
SELECT pg_temp.deal_at('CB', 'S', 10000, 'shipped', 'credit_finance', 'CF') AS c1 \gset
SELECT * FROM money;
SELECT escrow.open_dispute(:c1, 'never arrived', 'CB');
SELECT * FROM pg_temp.deal(:c1);
-- resolved in part: the merchant keeps 6000 less the discount on it, the
-- buyer borrows 6000, the rest of the line's hold is released
SELECT escrow.resolve_dispute(:c1, 4000, 6000);
SELECT payload FROM escrow.deal_events WHERE deal = :c1 ORDER BY id DESC LIMIT 1;
SELECT * FROM pg_temp.deal(:c1);
SELECT * FROM pg_temp.receivable(:c1);
SELECT * FROM money;
SELECT * FROM escrow.verify_ledger();

-- credit finance and agency, shipped past the deadline: escalated too
SELECT pg_temp.deal_at('CB', 'S', 3000, 'shipped', 'credit_finance', 'CF') AS c2 \gset
SELECT pg_temp.deal_at('DB', 'S', 3000, 'shipped', 'agency', 'AG') AS g1 \gset
SELECT pg_temp.due(:c2), pg_temp.due(:g1);
SELECT pg_temp.sweep();
SELECT stage, held FROM escrow.deals WHERE id IN (:c2, :g1) ORDER BY id;
-- credit finance resolved all for the buyer: the pre-payment clawed back, the line released
SELECT escrow.resolve_dispute(:c2, 3000, 0);
-- agency resolved all for the merchant: the agency pays, the buyer is invoiced
SELECT escrow.resolve_dispute(:g1, 0, 3000);
SELECT deal, action, payload FROM escrow.deal_events WHERE deal IN (:c2, :g1) AND action = 'resolve_dispute' ORDER BY id;
SELECT * FROM pg_temp.receivable(:g1);
SELECT * FROM escrow.verify_ledger();

-- ======================================================================
-- Returned, never confirmed
-- ======================================================================
-- rejected at delivery (escrow): the refund deadline starts
SELECT pg_temp.deal_at('DB', 'S', 2000, 'delivered') AS r1 \gset
SELECT escrow.reject_delivery(:r1, 'wrong size', 'DB');
SELECT stage, deadline BETWEEN now() + interval '5 days' - interval '1 minute'
                           AND clock_timestamp() + interval '5 days' AS refund_by
  FROM escrow.deals WHERE id = :r1;
SELECT * FROM pg_temp.deal(:r1);
-- past it, the merchant can no longer dispute the return
SELECT pg_temp.due(:r1);
SELECT pg_temp.fingerprint() AS before \gset
SELECT pg_temp.error_of(format($$SELECT escrow.open_dispute(%s, 'came back used', 'S')$$, :r1));
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- settled, then returned (agency, part of the invoice paid; credit
-- finance, part of the loan repaid): nobody confirms either
SELECT pg_temp.deal_at('DB', 'S', 4000, 'settled', 'agency', 'AG') AS r2 \gset
SELECT pg_temp.deal_at('CB', 'S', 5000, 'settled', 'credit_finance', 'CF') AS r3 \gset
SELECT escrow.pay_invoice((SELECT id FROM escrow.receivables WHERE deal = :r2), :wallet, 1000) > 0 AS paid,
       escrow.repay((SELECT id FROM escrow.receivables WHERE deal = :r3), :cbwallet, 2000) > 0 AS repaid;
SELECT escrow.request_return(:r2, 'changed my mind', 'DB'), escrow.request_return(:r3, 'too small', 'CB');
SELECT * FROM money;
SELECT pg_temp.due(:r2), pg_temp.due(:r3);
-- the returns are confirmed for the merchant: the buyer is made whole
SELECT pg_temp.sweep();
SELECT deal, action, to_stage, actor, payload FROM escrow.deal_events
 WHERE deal IN (:r1, :r2, :r3) AND action = 'auto_confirm_return' ORDER BY id;
SELECT * FROM pg_temp.deal(:r1);
SELECT * FROM pg_temp.receivable(:r2);
SELECT * FROM pg_temp.receivable(:r3);
SELECT * FROM money;
SELECT * FROM escrow.verify_ledger();
-- before the deadline the merchant may still dispute a return (any model)
SELECT pg_temp.deal_at('CB', 'S', 1000, 'delivered', 'credit_finance', 'CF') AS r4 \gset
SELECT escrow.reject_delivery(:r4, 'scratched', 'CB');
SELECT escrow.open_dispute(:r4, 'the scratch was there before', 'S');
SELECT stage FROM escrow.deals WHERE id = :r4;

-- ======================================================================
-- Served first, never paid
-- ======================================================================
SELECT pg_temp.deal_at('DB', 'S', 6000, 'identity_confirmed') AS p1 \gset
SELECT pg_temp.deal_at('DB', 'S', 6000, 'identity_confirmed') AS p2 \gset
SELECT pg_temp.deal_at('DB', 'S', 6000, 'identity_confirmed') AS p3 \gset
SELECT escrow.serve_first(:p1, 'S'), escrow.serve_first(:p2, 'S'), escrow.serve_first(:p3, 'S');
-- the payment deadline: now + pay_within
SELECT stage, deadline BETWEEN now() + interval '2 days' - interval '1 minute'
                           AND clock_timestamp() + interval '2 days' AS pay_by
  FROM escrow.deals WHERE id = :p1;
SELECT pg_temp.due(:p1), pg_temp.due(:p2);
SELECT pg_temp.fingerprint() AS before \gset
SELECT balances AS money_before FROM money \gset
-- paid on time (deadline passed, not yet swept) settles as before
SELECT * FROM escrow.pay_cash('T1', :p2, ARRAY[5000, 1000]);
SELECT stage FROM escrow.deals WHERE id = :p2;
-- never paid: marked unpaid, nothing moves
SELECT pg_temp.sweep();
SELECT * FROM pg_temp.deal(:p1);
SELECT action, from_stage, to_stage, actor, payload FROM escrow.deal_events WHERE deal = :p1 ORDER BY id DESC LIMIT 1;
-- the buyer may not write it off; the merchant may not settle it
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.write_off(%s, 'gave up', 'DB')$$, :'p1')),
  (format($$SELECT escrow.confirm_inspection(%s, 'DB')$$, :'p1')),
  (format($$SELECT escrow.open_dispute(%s, 'unpaid', 'S')$$, :'p1')),
  (format($$SELECT escrow.write_off(%s, 'not due yet', 'S')$$, :'p3'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- paid late: the deal settles as it would have
SELECT * FROM escrow.pay_cash('T1', :p1, ARRAY[5000, 1000]);
SELECT * FROM pg_temp.deal(:p1);
-- p3: past its deadline, unpaid, then written off by the merchant
SELECT pg_temp.due(:p3);
SELECT pg_temp.sweep();
SELECT balances AS money_before FROM money \gset
SELECT escrow.write_off(:p3, 'customer unreachable', 'S');
SELECT * FROM pg_temp.deal(:p3);
SELECT balances = :'money_before' AS no_money_moved FROM money;
SELECT deal, stage, ended_at IS NOT NULL AS ended FROM escrow.deal_progress WHERE deal = :p3;
SELECT escrow.pay_cash('T1', :p3, ARRAY[5000, 1000]);
\echo :LAST_ERROR_SQLSTATE
-- agency served first: the inspection window, then accepted automatically
SELECT pg_temp.deal_at('DB', 'S', 2000, 'identity_confirmed', 'agency', 'AG') AS p4 \gset
SELECT escrow.serve_first(:p4, 'S');
SELECT stage, deadline BETWEEN now() + interval '3 days' - interval '1 minute'
                           AND clock_timestamp() + interval '3 days' AS inspect_by
  FROM escrow.deals WHERE id = :p4;
SELECT pg_temp.due(:p4);
SELECT pg_temp.sweep();
SELECT * FROM pg_temp.deal(:p4);
SELECT * FROM pg_temp.receivable(:p4);
SELECT * FROM escrow.verify_ledger();

-- ======================================================================
-- Disputes of financed deals: every stage, exact splits
-- ======================================================================
-- agency before receipt (delivered): the agency pays the merchant's share,
-- the fee is on that share, the buyer is invoiced for it
SELECT pg_temp.deal_at('DB', 'S', 10000, 'delivered', 'agency', 'AG') AS f1 \gset
SELECT escrow.open_dispute(:f1, 'half of it missing', 'DB');
SELECT :f1 AS d, 4000 AS to_buyer, 6000 AS to_merchant \gset
\i sql/include/dispute_split.sql

-- agency after receipt, the buyer paid less than the merchant's share
SELECT pg_temp.deal_at('DB', 'S', 10000, 'settled', 'agency', 'AG') AS f2 \gset
SELECT escrow.pay_invoice((SELECT id FROM escrow.receivables WHERE deal = :f2), :wallet, 3000) > 0;
SELECT escrow.open_dispute(:f2, 'broke after a day', 'DB');
SELECT :f2 AS d, 4000 AS to_buyer, 6000 AS to_merchant \gset
\i sql/include/dispute_split.sql
-- the rest of the written-down invoice is paid as usual
SELECT escrow.pay_invoice((SELECT id FROM escrow.receivables WHERE deal = :f2), :wallet) > 0;
SELECT * FROM pg_temp.receivable(:f2);

-- agency after receipt, the buyer paid more than the merchant's share:
-- the excess goes back to the buyer, the invoice is paid
SELECT pg_temp.deal_at('DB', 'S', 10000, 'settled', 'agency', 'AG') AS f3 \gset
SELECT escrow.pay_invoice((SELECT id FROM escrow.receivables WHERE deal = :f3), :wallet, 8000) > 0;
SELECT escrow.open_dispute(:f3, 'not as described', 'DB');
SELECT escrow.resolve_dispute(:f3, 4000, 6000);
SELECT payload FROM escrow.deal_events WHERE deal = :f3 ORDER BY id DESC LIMIT 1;
SELECT * FROM pg_temp.deal(:f3);
SELECT * FROM pg_temp.receivable(:f3);
SELECT * FROM escrow.verify_ledger();

-- credit finance before receipt (delivered)
SELECT pg_temp.deal_at('CB', 'S', 10000, 'delivered', 'credit_finance', 'CF') AS f4 \gset
SELECT escrow.open_dispute(:f4, 'wrong colour', 'S');
SELECT :f4 AS d, 2500 AS to_buyer, 7500 AS to_merchant \gset
\i sql/include/dispute_split.sql

-- credit finance after receipt, part of the loan repaid (less than the share)
SELECT pg_temp.deal_at('CB', 'S', 10000, 'settled', 'credit_finance', 'CF') AS f5 \gset
SELECT escrow.repay((SELECT id FROM escrow.receivables WHERE deal = :f5), :cbwallet, 2000) > 0;
SELECT escrow.open_dispute(:f5, 'stopped working', 'CB');
SELECT :f5 AS d, 4000 AS to_buyer, 6000 AS to_merchant \gset
\i sql/include/dispute_split.sql

-- credit finance after receipt, repaid beyond the share: the excess stays
-- on the buyer's line, the loan is paid
SELECT pg_temp.deal_at('CB', 'S', 10000, 'settled', 'credit_finance', 'CF') AS f6 \gset
SELECT escrow.repay((SELECT id FROM escrow.receivables WHERE deal = :f6), :cbwallet, 7000) > 0;
SELECT escrow.open_dispute(:f6, 'stopped working', 'CB');
SELECT escrow.resolve_dispute(:f6, 4000, 6000);
SELECT payload FROM escrow.deal_events WHERE deal = :f6 ORDER BY id DESC LIMIT 1;
SELECT * FROM pg_temp.receivable(:f6);

-- returned after settlement, then disputed (credit finance): as after receipt
SELECT pg_temp.deal_at('CB', 'S', 8000, 'settled', 'credit_finance', 'CF') AS f7 \gset
SELECT escrow.request_return(:f7, 'does not fit', 'CB');
SELECT escrow.open_dispute(:f7, 'came back worn', 'S');
SELECT escrow.resolve_dispute(:f7, 5000, 3000);
SELECT payload FROM escrow.deal_events WHERE deal = :f7 ORDER BY id DESC LIMIT 1;
SELECT * FROM pg_temp.receivable(:f7);
-- settled agency deal resolved entirely for the merchant: nothing moves
SELECT pg_temp.deal_at('DB', 'S', 1000, 'settled', 'agency', 'AG') AS f8 \gset
SELECT escrow.open_dispute(:f8, 'late', 'DB');
SELECT balances AS m0 FROM money \gset
SELECT escrow.resolve_dispute(:f8, 0, 1000);
SELECT balances = :'m0' AS nothing_moved FROM money;
SELECT * FROM pg_temp.receivable(:f8);
-- settled agency deal resolved entirely for the buyer: unwound as a return
SELECT pg_temp.deal_at('DB', 'S', 1000, 'settled', 'agency', 'AG') AS f9 \gset
SELECT escrow.open_dispute(:f9, 'never used', 'DB');
SELECT escrow.resolve_dispute(:f9, 1000, 0);
SELECT * FROM pg_temp.receivable(:f9);

-- refused splits change nothing
SELECT pg_temp.deal_at('CB', 'S', 1000, 'shipped', 'credit_finance', 'CF') AS f10 \gset
SELECT escrow.open_dispute(:f10, 'lost', 'CB');
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.resolve_dispute(:f10, 600, 600);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.resolve_dispute(:f10, -1, 1001);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- a merchant who withdrew its pre-payment cannot give its part back: EP001, nothing changes
SELECT escrow.withdraw(:shop, (SELECT posted FROM escrow.balances WHERE account = :shop)) > 0 AS emptied;
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.resolve_dispute(:f10, 600, 400);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- every institution's position: the credit institution is up by exactly the
-- discounts on what it lent, less what it pre-paid on the two deals still
-- in dispute; the agency is out exactly what its invoices still claim
SELECT (SELECT posted FROM escrow.balances WHERE owner = 'bank') - 100000 AS bank_gain,
       (SELECT sum(r.amount / 10000 * 300 + r.amount % 10000 * 300 / 10000)
          FROM escrow.receivables r WHERE r.kind = 'loan' AND r.status <> 'cancelled')
       - (SELECT sum(amount - amount * 300 / 10000) FROM escrow.deals
           WHERE settlement = 'credit_finance' AND stage = 'disputed') AS expected,
       100000 - (SELECT posted FROM escrow.balances WHERE owner = 'agency') AS agency_out,
       (SELECT sum(amount - paid) FROM escrow.receivables WHERE kind = 'invoice' AND status <> 'cancelled') AS invoices_outstanding;
SELECT * FROM escrow.verify_ledger();
