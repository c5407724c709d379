-- 19_agency_completion: a payment-agency deal is completed only once the
-- buyer has paid the agency's invoice.  Cooling-off passing with the
-- invoice unpaid moves the deal to `invoiced` (run_maintenance, action
-- invoice_due), where it waits for the buyer: deal_progress shows it
-- invoiced, and overdue once the invoice is past its due date; paying the
-- invoice in full completes it.  An invoice paid during cooling-off lets
-- run_maintenance complete the deal as before; paid in full after
-- cooling-off (before run_maintenance came by) it completes at once.
-- Escrow and credit-finance deals complete after cooling-off as before
-- (a credit-finance loan is the buyer's debt to the institution, not to
-- the merchant).
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- The id of account <owner>
CREATE FUNCTION pg_temp.a(text) RETURNS bigint LANGUAGE sql AS $$
  SELECT id FROM escrow.accounts WHERE owner = $1
$$;
\i sql/include/deal_at.sql
-- Where a deal stands, as deal_progress shows it, with its receivable
CREATE FUNCTION pg_temp.progress(bigint) RETURNS TABLE (stage text, overdue boolean,
    next_actions text, deadline boolean, completed boolean, receivable text, paid bigint)
LANGUAGE sql AS $$
  SELECT p.stage, p.overdue, p.next_actions, p.deadline IS NOT NULL, p.completed_at IS NOT NULL,
         r.status, r.paid
    FROM escrow.deal_progress p LEFT JOIN escrow.receivables r ON r.deal = p.deal
   WHERE p.deal = $1
$$;
-- A deal's events from settlement on
CREATE FUNCTION pg_temp.events(bigint) RETURNS TABLE
    (action text, from_stage text, to_stage text, actor text, payload jsonb)
LANGUAGE sql AS $$
  SELECT action, from_stage, to_stage, actor, payload - 'capture_transfer'
    FROM escrow.deal_events
   WHERE deal = $1 AND id > (SELECT max(id) FROM escrow.deal_events
                              WHERE deal = $1 AND action = 'confirm_inspection')
   ORDER BY id
$$;
-- Cooling-off of deals over (the deadline moved back by the superuser)
CREATE FUNCTION pg_temp.cool(VARIADIC bigint[]) RETURNS void LANGUAGE sql AS $$
  UPDATE escrow.deals SET deadline = now() - interval '1 minute' WHERE id = ANY ($1)
$$;

SELECT escrow.open_account('wallet', 'USD') AS wallet, escrow.open_account('agency', 'USD') AS agency,
       escrow.open_account('bank', 'USD') AS bank \gset
SELECT escrow.deposit(:wallet, 100000) > 0 AND escrow.deposit(:agency, 100000) > 0
       AND escrow.deposit(:bank, 100000) > 0 AS funded;
SELECT escrow.register_member('DB', 'Deposit buyer', 'db@test', :wallet),
       escrow.register_member('CB', 'Credit buyer', 'cb@test',
                              escrow.open_account('line', 'USD', 'credit', 50000)),
       escrow.register_merchant('S', 'Shop', 's@test', escrow.open_account('shop', 'USD'),
                                fee_bps => 250, fee_account => escrow.open_account('fees', 'USD')),
       escrow.register_institution('AGY', 'Agency', 'agy@test', :agency, repay_within => '14 days'),
       escrow.register_institution('BANK', 'Bank', 'bank@test', :bank, 300);

-- =====================================================================
-- Cooling-off passes with the invoice unpaid: not completed but invoiced
-- =====================================================================
SELECT pg_temp.deal_at('DB', 'S', 4000, 'settled', 'agency', 'AGY') AS ag \gset
SELECT id AS invoice FROM escrow.receivables WHERE deal = :ag \gset
SELECT * FROM pg_temp.progress(:ag);
SELECT pg_temp.cool(:ag);
SELECT * FROM escrow.run_maintenance() ORDER BY action;
SELECT * FROM pg_temp.progress(:ag);
-- nothing more for run_maintenance to do with it
SELECT * FROM escrow.run_maintenance() ORDER BY action;
SELECT * FROM pg_temp.progress(:ag);
-- past the invoice's due date: overdue
UPDATE escrow.receivables SET due_at = now() - interval '1 day' WHERE id = :invoice;
SELECT * FROM pg_temp.progress(:ag);
SELECT stage, count(*) FROM escrow.stage_funnel WHERE stage = 'invoiced' GROUP BY stage;
-- the return window has closed: no return, no dispute
SELECT escrow.request_return(:ag, 'changed my mind', 'DB');
\echo :LAST_ERROR_SQLSTATE
-- a part paid: still invoiced (and still overdue)
SELECT escrow.pay_invoice(:invoice, :wallet, 1500) > 0 AS paid;
SELECT * FROM pg_temp.progress(:ag);
-- the rest: completed
SELECT escrow.pay_invoice(:invoice, :wallet) > 0 AS paid;
SELECT * FROM pg_temp.progress(:ag);
SELECT * FROM pg_temp.events(:ag);

-- =====================================================================
-- Paid in full during cooling-off: run_maintenance completes it as before
-- =====================================================================
SELECT pg_temp.deal_at('DB', 'S', 3000, 'settled', 'agency', 'AGY') AS ag2 \gset
SELECT escrow.pay_invoice(r.id, :wallet) > 0 AS paid FROM escrow.receivables r WHERE r.deal = :ag2;
SELECT * FROM pg_temp.progress(:ag2);
SELECT pg_temp.cool(:ag2);
SELECT * FROM escrow.run_maintenance() ORDER BY action;
SELECT * FROM pg_temp.progress(:ag2);
SELECT * FROM pg_temp.events(:ag2);

-- =====================================================================
-- Cooling-off over but run_maintenance not yet there: a part paid leaves
-- the deal settled (run_maintenance then invoices it); paying the rest of
-- a second one completes it at once.
-- =====================================================================
SELECT pg_temp.deal_at('DB', 'S', 2000, 'settled', 'agency', 'AGY') AS ag3,
       pg_temp.deal_at('DB', 'S', 2500, 'settled', 'agency', 'AGY') AS ag4 \gset
SELECT pg_temp.cool(:ag3, :ag4);
SELECT escrow.pay_invoice(r.id, :wallet, 500) > 0 AS paid FROM escrow.receivables r WHERE r.deal = :ag3;
SELECT * FROM pg_temp.progress(:ag3);
SELECT escrow.pay_invoice(r.id, :wallet) > 0 AS paid FROM escrow.receivables r WHERE r.deal = :ag4;
SELECT * FROM pg_temp.progress(:ag4);
SELECT * FROM pg_temp.events(:ag4);
SELECT * FROM escrow.run_maintenance() ORDER BY action;
SELECT * FROM pg_temp.progress(:ag3);

-- =====================================================================
-- Escrow and credit-finance deals complete after cooling-off as before,
-- the credit-finance loan still open
-- =====================================================================
SELECT pg_temp.deal_at('DB', 'S', 1000, 'settled', 'escrow', NULL) AS es,
       pg_temp.deal_at('CB', 'S', 5000, 'settled', 'credit_finance', 'BANK') AS cf \gset
SELECT pg_temp.cool(:es, :cf);
SELECT * FROM escrow.run_maintenance() ORDER BY action;
SELECT * FROM pg_temp.progress(:es);
SELECT * FROM pg_temp.progress(:cf);

-- the transition table: where invoiced comes from and goes
SELECT action, from_stage, to_stage, actors, settlements FROM escrow.deal_transitions()
 WHERE 'invoiced' IN (from_stage, to_stage) OR action = 'complete' ORDER BY from_stage, action;
SELECT * FROM escrow.verify_ledger();
