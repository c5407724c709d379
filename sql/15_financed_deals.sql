-- 15_financed_deals: deals paid by a third party (src/model_agency.c,
-- src/model_credit.c, src/finance.c).
-- Credit finance: reserve is the loan approval (the buyer's
-- credit line held for the institution, the merchant pre-paid the amount
-- less the institution's discount), receipt turns the hold into a loan the
-- buyer repays into the line; cancel before shipping and a return after
-- settlement (part repaid) unwind it.  Payment agency: reserve
-- freezes nothing, receipt makes the agency pay the merchant (less the
-- merchant's fee) and invoice the buyer, who pays with pay_invoice; a
-- return unwinds payout, fee and invoice payments; cancel moves nothing.
-- Expiry and auto-accept by run_maintenance(), a rejected delivery, the
-- receivables views (one loan made overdue), merchant payouts, row-level
-- security on receivables, idempotent repay, and every refusal with its
-- SQLSTATE, each followed by a check that nothing changed.
\set SHOW_CONTEXT never
\set party_roles 'fin_buyer, fin_shop, fin_bank'
\i sql/include/fresh_extension.sql
\i sql/include/party_roles.sql

-- Everything a refused call could have touched: accounts, holds, the
-- journal, idempotency keys, parties, deals, events and receivables.
\i sql/include/fingerprint.sql
-- The SQLSTATE of a statement's error (for a refusal whose message is not
-- the point)
CREATE FUNCTION pg_temp.sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
\i sql/include/error_of.sql
-- The id of account <owner>
CREATE FUNCTION pg_temp.a(text) RETURNS bigint LANGUAGE sql AS $$
  SELECT id FROM escrow.accounts WHERE owner = $1
$$;
-- The parties of scenario <tag>: a buyer <tag>-CB paying by credit line
-- <tag>-line (limit 30000, opened by the superuser) who repays from its
-- deposit account <tag>-wallet (20000), a buyer <tag>-DB paying from that
-- same wallet (its owner, which authorises <tag>-CB to pay from it), a merchant <tag>-S (accounts <tag>-shop, <tag>-fees; fee
-- 250 basis points), a credit institution <tag>-BANK (account <tag>-bank
-- with 50000; discount 300 basis points, loans due in 30 days) and a
-- payment agency <tag>-AGY (account <tag>-agency with 50000; invoices due
-- in 14 days).
CREATE FUNCTION pg_temp.parties(tag text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  wallet bigint := escrow.open_account(tag || '-wallet', 'USD');
  bank bigint := escrow.open_account(tag || '-bank', 'USD');
  agency bigint := escrow.open_account(tag || '-agency', 'USD');
BEGIN
  PERFORM escrow.deposit(wallet, 20000), escrow.deposit(bank, 50000), escrow.deposit(agency, 50000);
  PERFORM escrow.register_member(tag || '-CB', 'Credit buyer ' || tag, tag || '@cb.test',
                                 escrow.open_account(tag || '-line', 'USD', 'credit', 30000));
  PERFORM escrow.register_member(tag || '-DB', 'Deposit buyer ' || tag, tag || '@db.test', wallet);
  PERFORM escrow.authorise_account_use(wallet, tag || '-CB', 'pay_from', tag || '-DB');
  PERFORM escrow.register_merchant(tag || '-S', 'Shop ' || tag, tag || '@shop.test',
                                   escrow.open_account(tag || '-shop', 'USD'),
                                   fee_bps => 250, fee_account => escrow.open_account(tag || '-fees', 'USD'));
  PERFORM escrow.register_institution(tag || '-BANK', 'Bank ' || tag, tag || '@bank.test', bank,
                                      discount_bps => 300, repay_within => '30 days');
  PERFORM escrow.register_institution(tag || '-AGY', 'Agency ' || tag, tag || '@agency.test', agency,
                                      repay_within => '14 days');
  RETURN tag || ': ' || tag || '-CB (credit line), ' || tag || '-DB (deposit), ' || tag || '-S, '
         || tag || '-BANK, ' || tag || '-AGY';
END $$;
\i sql/include/deal_at.sql
-- The money of scenario <tag>, one row: the credit line (posted, held,
-- available), the buyers' wallet, the merchant's shop and fee accounts, the
-- bank's and the agency's accounts, and how many holds are open
CREATE FUNCTION pg_temp.money(tag text) RETURNS TABLE (line bigint, line_held bigint,
    line_available bigint, wallet bigint, wallet_held bigint, shop bigint, fees bigint,
    bank bigint, agency bigint, open_holds bigint)
LANGUAGE sql AS $$
  SELECT l.posted, l.held, l.available, w.posted, w.held, s.posted, f.posted, b.posted, a.posted,
         (SELECT count(*) FROM escrow.open_holds h WHERE h.debit_account IN (l.account, w.account))
    FROM escrow.balances l, escrow.balances w, escrow.balances s, escrow.balances f,
         escrow.balances b, escrow.balances a
   WHERE l.owner = tag || '-line' AND w.owner = tag || '-wallet' AND s.owner = tag || '-shop'
     AND f.owner = tag || '-fees' AND b.owner = tag || '-bank' AND a.owner = tag || '-agency'
$$;
-- Where a deal stands
CREATE FUNCTION pg_temp.deal(bigint) RETURNS TABLE (stage text, settlement text, institution text,
    payment_method text, held bigint, captured bigint, refunded bigint, fee bigint,
    fee_bps integer, discount_bps integer, prepaid boolean, deadline boolean)
LANGUAGE sql AS $$
  SELECT stage, settlement, institution, payment_method, held, captured, refunded, fee, fee_bps,
         discount_bps, prepay_transfer IS NOT NULL, deadline IS NOT NULL
    FROM escrow.deals WHERE id = $1
$$;
-- A deal's receivable, as the platform sees it (due date as days from now)
CREATE FUNCTION pg_temp.receivable(bigint) RETURNS TABLE (receivable bigint, kind text,
    debtor text, creditor text, pays_into text, amount bigint, paid bigint, outstanding bigint,
    due_in_days integer, status text, overdue boolean)
LANGUAGE sql AS $$
  SELECT v.receivable, v.kind, v.debtor, v.creditor, a.owner, v.amount, v.paid, v.outstanding,
         round(extract(epoch FROM v.due_at - now()) / 86400)::integer, v.status, v.overdue
    FROM escrow.receivables_due v
    JOIN escrow.receivables r ON r.id = v.receivable
    JOIN escrow.accounts a ON a.id = r.pay_to
    JOIN escrow.deals d ON d.id = r.deal
   WHERE d.id = $1
$$;
\i sql/include/events.sql
-- A merchant's payouts (all on one day)
CREATE FUNCTION pg_temp.payouts(text) RETURNS TABLE (merchant text, settled numeric, fees numeric,
    refunds numeric, net numeric)
LANGUAGE sql AS $$
  SELECT merchant, sum(settled), sum(fees), sum(refunds), sum(net)
    FROM escrow.merchant_payouts WHERE merchant = $1 GROUP BY merchant
$$;

-- =====================================================================
-- Credit finance end to end
-- =====================================================================
SELECT pg_temp.parties('cf');
SELECT * FROM pg_temp.money('cf');
-- loan request: the order names the credit institution
SELECT pg_temp.deal_at('cf-CB', 'cf-S', 10000, 'identity_confirmed', 'credit_finance', 'cf-BANK') AS cf \gset
-- the institution's discount replaces the merchant's fee (fee_bps 0)
SELECT * FROM pg_temp.deal(:cf);
-- loan approval: the line is held for the institution, which pre-pays the
-- merchant 10000 less 3% = 9700; the authentication number is returned
SELECT length(escrow.reserve(:cf, 'cf-CB')) AS auth_no_digits;
SELECT * FROM pg_temp.money('cf');
SELECT * FROM pg_temp.deal(:cf);
SELECT h.debit_account = pg_temp.a('cf-line') AS on_the_line, h.credit_account = pg_temp.a('cf-bank') AS for_the_bank,
       h.amount, h.status
  FROM escrow.holds h JOIN escrow.deals d ON d.hold_id = h.id WHERE d.id = :cf;
SELECT t.kind, t.debit_account = pg_temp.a('cf-bank') AS from_bank, t.credit_account = pg_temp.a('cf-shop') AS to_shop,
       t.amount
  FROM escrow.transfers t JOIN escrow.deals d ON d.prepay_transfer = t.id WHERE d.id = :cf;
-- nothing is owed before receipt
SELECT count(*) AS receivables FROM escrow.receivables;
SELECT escrow.mark_shipped(:cf, 'CJ Logistics', 'CF-1', 'cf-S');
SELECT escrow.mark_delivered(:cf, 'cf-S');
-- receipt confirmed: the hold is captured to the institution and becomes
-- the buyer's loan (due in 30 days, repaid into the line)
SELECT escrow.confirm_inspection(:cf, 'cf-CB') AS cf_capture \gset
SELECT capture_transfer = :cf_capture AS returned_the_capture FROM escrow.deals WHERE id = :cf;
SELECT t.kind, t.amount, t.debit_account = pg_temp.a('cf-line') AS from_line, t.credit_account = pg_temp.a('cf-bank') AS to_bank
  FROM escrow.transfers t WHERE t.id = :cf_capture;
SELECT * FROM pg_temp.money('cf');
SELECT * FROM pg_temp.deal(:cf);
SELECT * FROM pg_temp.receivable(:cf);
SELECT receivable AS loan FROM escrow.receivables_due WHERE txn_no = (SELECT txn_no FROM escrow.deals WHERE id = :cf) \gset
-- partial repayment from the buyer's deposit account, with an idempotency key
SELECT escrow.repay(:loan, pg_temp.a('cf-wallet'), 4000, 'cf-repay-1') AS repay1 \gset
SELECT * FROM pg_temp.receivable(:cf);
SELECT * FROM pg_temp.money('cf');
-- the same key and arguments: the same transfer, nothing changes
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.repay(:loan, pg_temp.a('cf-wallet'), 4000, 'cf-repay-1') = :repay1 AS same_transfer;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- the same key with other arguments (amount, account, operation): EP005
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.repay(%s, pg_temp.a('cf-wallet'), 4001, 'cf-repay-1')$$, :'loan')),
  (format($$SELECT escrow.repay(%s, pg_temp.a('cf-wallet'), NULL, 'cf-repay-1')$$, :'loan')),
  (format($$SELECT escrow.pay_invoice(%s, pg_temp.a('cf-wallet'), 4000, 'cf-repay-1')$$, :'loan')),
  ($$SELECT escrow.deposit(pg_temp.a('cf-wallet'), 4000, 'cf-repay-1')$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- the loan past its due date (moved back by the superuser): overdue
UPDATE escrow.receivables SET due_at = now() - interval '2 days' WHERE id = :loan;
SELECT * FROM pg_temp.receivable(:cf);
SELECT receivable, kind, debtor, creditor, currency, amount, paid, outstanding, status, overdue
  FROM escrow.overdue_receivables;
-- the rest (amount NULL: all that is outstanding): paid, no longer overdue
SELECT escrow.repay(:loan, pg_temp.a('cf-wallet')) > :repay1 AS repaid;
SELECT * FROM pg_temp.receivable(:cf);
SELECT count(*) AS overdue FROM escrow.overdue_receivables;
-- the line is whole again; the bank kept the discount (50000 - 9700 + 10000)
SELECT * FROM pg_temp.money('cf');
SELECT t.kind, t.amount, t.debit_account = pg_temp.a('cf-wallet') AS from_wallet,
       t.credit_account = pg_temp.a('cf-line') AS into_line
  FROM escrow.transfers t WHERE t.debit_account = pg_temp.a('cf-wallet') ORDER BY t.id;
SELECT * FROM pg_temp.events(:cf);
-- the merchant was paid at approval: 9700, no fee
SELECT * FROM pg_temp.payouts('cf-S');
SELECT stage, held, captured, refunded, fee, next_actions FROM escrow.deal_progress WHERE deal = :cf;
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Credit finance cancelled before shipping: the hold is released and the
-- pre-payment clawed back from the merchant; the merchant's event says so.
-- =====================================================================
SELECT pg_temp.parties('cc');
SELECT pg_temp.deal_at('cc-CB', 'cc-S', 10000, 'funds_reserved', 'credit_finance', 'cc-BANK') AS cc \gset
SELECT * FROM pg_temp.money('cc');
SELECT escrow.cancel_deal(:cc, 'found it cheaper', 'cc-CB');
SELECT * FROM pg_temp.money('cc');
SELECT * FROM pg_temp.deal(:cc);
SELECT h.status, h.amount, h.captured, h.released FROM escrow.holds h JOIN escrow.deals d ON d.hold_id = h.id
 WHERE d.id = :cc;
SELECT t.kind, t.amount, t.refund_of = d.prepay_transfer AS of_prepayment
  FROM escrow.transfers t JOIN escrow.deals d ON t.refund_of = d.prepay_transfer WHERE d.id = :cc;
SELECT * FROM pg_temp.events(:cc);
SELECT count(*) AS receivables FROM escrow.receivables r JOIN escrow.deals d ON d.id = r.deal WHERE d.id = :cc;
SELECT * FROM pg_temp.payouts('cc-S');
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Credit finance returned after settlement, part of the loan repaid: the
-- loan is reversed (the institution gives the line back), the pre-payment
-- clawed back, the loan cancelled; the line keeps the buyer's 2500.
-- =====================================================================
SELECT pg_temp.parties('cr');
SELECT pg_temp.deal_at('cr-CB', 'cr-S', 10000, 'settled', 'credit_finance', 'cr-BANK') AS cr \gset
SELECT r.id AS cr_loan FROM escrow.receivables r WHERE r.deal = :cr \gset
SELECT escrow.repay(:cr_loan, pg_temp.a('cr-wallet'), 2500) > 0 AS repaid;
SELECT * FROM pg_temp.money('cr');
SELECT escrow.request_return(:cr, 'does not work', 'cr-CB');
SELECT * FROM pg_temp.money('cr');
SELECT escrow.confirm_return(:cr, 'cr-S');
SELECT * FROM pg_temp.money('cr');
SELECT * FROM pg_temp.deal(:cr);
SELECT * FROM pg_temp.receivable(:cr);
SELECT t.kind, t.amount, t.refund_of = d.capture_transfer AS of_loan, t.refund_of = d.prepay_transfer AS of_prepayment
  FROM escrow.transfers t JOIN escrow.deals d ON t.refund_of IN (d.capture_transfer, d.prepay_transfer)
 WHERE d.id = :cr ORDER BY t.id;
SELECT * FROM pg_temp.events(:cr);
SELECT * FROM pg_temp.payouts('cr-S');
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Payment agency end to end: reserve freezes nothing; receipt
-- makes the agency pay the merchant (less the merchant's 2.5% fee) and
-- invoice the buyer; the buyer pays part; a return then claws the payout
-- back, returns the fee to the merchant and the invoice payments to the
-- buyer.  A second deal is paid in full.
-- =====================================================================
SELECT pg_temp.parties('ag');
SELECT pg_temp.deal_at('ag-DB', 'ag-S', 10000, 'identity_confirmed', 'agency', 'ag-AGY') AS ag \gset
SELECT * FROM pg_temp.deal(:ag);
SELECT length(escrow.reserve(:ag, 'ag-DB')) AS auth_no_digits;
SELECT * FROM pg_temp.money('ag');
SELECT * FROM pg_temp.deal(:ag);
SELECT escrow.mark_shipped(:ag, 'CJ Logistics', 'AG-1', 'ag-S');
SELECT escrow.mark_delivered(:ag, 'ag-S');
SELECT * FROM pg_temp.money('ag');
-- receipt: the agency pays 10000, the merchant pays its fee of 250
SELECT escrow.confirm_inspection(:ag, 'ag-DB') AS ag_payout \gset
SELECT capture_transfer = :ag_payout AS returned_the_payout FROM escrow.deals WHERE id = :ag;
SELECT t.kind, t.amount, t.debit_account = pg_temp.a('ag-agency') AS from_agency, t.credit_account = pg_temp.a('ag-shop') AS to_shop
  FROM escrow.transfers t WHERE t.id = :ag_payout;
SELECT * FROM pg_temp.money('ag');
SELECT * FROM pg_temp.deal(:ag);
SELECT * FROM pg_temp.receivable(:ag);
SELECT r.id AS invoice FROM escrow.receivables r WHERE r.deal = :ag \gset
SELECT escrow.pay_invoice(:invoice, pg_temp.a('ag-wallet'), 3000) > 0 AS paid;
SELECT * FROM pg_temp.receivable(:ag);
SELECT * FROM pg_temp.money('ag');
SELECT * FROM pg_temp.payouts('ag-S');
-- returned within cooling-off
SELECT escrow.request_return(:ag, 'wrong size', 'ag-DB');
SELECT escrow.confirm_return(:ag, 'ag-S');
SELECT * FROM pg_temp.money('ag');
SELECT * FROM pg_temp.deal(:ag);
SELECT * FROM pg_temp.receivable(:ag);
SELECT t.kind, t.amount, t.refund_of = d.capture_transfer AS of_payout, t.refund_of = d.fee_transfer AS of_fee
  FROM escrow.transfers t JOIN escrow.deals d ON t.refund_of IN (d.capture_transfer, d.fee_transfer)
 WHERE d.id = :ag ORDER BY t.id;
SELECT t.kind, t.amount FROM escrow.transfers t
 WHERE t.debit_account = pg_temp.a('ag-agency') AND t.credit_account = pg_temp.a('ag-wallet');
SELECT * FROM pg_temp.events(:ag);
SELECT * FROM pg_temp.payouts('ag-S');
-- a second agency deal, its invoice paid in full (amount NULL)
SELECT pg_temp.deal_at('ag-DB', 'ag-S', 4000, 'settled', 'agency', 'ag-AGY') AS ag2 \gset
SELECT escrow.pay_invoice(r.id, pg_temp.a('ag-wallet')) > 0 AS paid FROM escrow.receivables r WHERE r.deal = :ag2;
SELECT * FROM pg_temp.receivable(:ag2);
SELECT * FROM pg_temp.money('ag');
SELECT * FROM pg_temp.payouts('ag-S');
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Payment agency cancelled before shipping: nothing moves.
-- =====================================================================
SELECT pg_temp.parties('ac');
SELECT pg_temp.deal_at('ac-DB', 'ac-S', 10000, 'funds_reserved', 'agency', 'ac-AGY') AS ac \gset
SELECT * FROM pg_temp.money('ac');
SELECT count(*) AS transfers FROM escrow.transfers \gset
SELECT escrow.cancel_deal(:ac, 'out of stock', 'ac-S');
SELECT * FROM pg_temp.money('ac');
SELECT * FROM pg_temp.deal(:ac);
SELECT count(*) = :transfers AS no_transfer FROM escrow.transfers;
SELECT * FROM pg_temp.events(:ac);
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- run_maintenance() on financed deals (deadlines moved back by the
-- superuser): an unshipped credit-finance deal expires and is unwound like
-- a cancel; a delivered agency deal past the inspection window is accepted
-- and paid by the agency like a confirmed receipt.
-- =====================================================================
SELECT pg_temp.parties('mx');
SELECT pg_temp.deal_at('mx-CB', 'mx-S', 6000, 'funds_reserved', 'credit_finance', 'mx-BANK') AS mx_cf \gset
SELECT pg_temp.deal_at('mx-DB', 'mx-S', 4000, 'delivered', 'agency', 'mx-AGY') AS mx_ag \gset
SELECT * FROM pg_temp.money('mx');
UPDATE escrow.deals SET deadline = now() - interval '1 minute' WHERE id IN (:mx_cf, :mx_ag);
SELECT * FROM escrow.run_maintenance() ORDER BY action;
SELECT * FROM pg_temp.money('mx');
SELECT n, d.* FROM (VALUES (1, :mx_cf), (2, :mx_ag)) v(n, id), pg_temp.deal(v.id) d ORDER BY n;
SELECT * FROM pg_temp.receivable(:mx_ag);
SELECT n, e.action, e.actor, e.payload
  FROM (VALUES (1, :mx_cf), (2, :mx_ag)) v(n, id)
  JOIN escrow.deal_events e ON e.deal = v.id AND e.actor = 'system' ORDER BY n;
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Rejected within the inspection window, then the return confirmed: a
-- credit-finance deal releases the line and claws the pre-payment back, an
-- agency deal has nothing to undo; no receivable is ever opened.
-- =====================================================================
SELECT pg_temp.parties('rj');
SELECT pg_temp.deal_at('rj-CB', 'rj-S', 5000, 'delivered', 'credit_finance', 'rj-BANK') AS rj_cf \gset
SELECT pg_temp.deal_at('rj-DB', 'rj-S', 3000, 'delivered', 'agency', 'rj-AGY') AS rj_ag \gset
SELECT escrow.reject_delivery(:rj_cf, 'wrong item', 'rj-CB'), escrow.reject_delivery(:rj_ag, 'damaged', 'rj-DB');
SELECT * FROM pg_temp.money('rj');
SELECT escrow.confirm_return(:rj_cf, 'rj-S'), escrow.confirm_return(:rj_ag, 'rj-S');
SELECT * FROM pg_temp.money('rj');
SELECT n, d.* FROM (VALUES (1, :rj_cf), (2, :rj_ag)) v(n, id), pg_temp.deal(v.id) d ORDER BY n;
SELECT n, e.action, e.actor, e.payload
  FROM (VALUES (1, :rj_cf), (2, :rj_ag)) v(n, id)
  JOIN escrow.deal_events e ON e.deal = v.id AND e.action IN ('reject_delivery', 'confirm_return') ORDER BY n, e.id;
SELECT count(*) AS receivables FROM escrow.receivables WHERE deal IN (:rj_cf, :rj_ag);
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- All receivables, as the platform sees them; payouts of every merchant
-- =====================================================================
SELECT receivable, kind, debtor, creditor, currency, amount, paid, outstanding, status, overdue
  FROM escrow.receivables_due ORDER BY receivable;
SELECT merchant, currency, settled, fees, refunds, net FROM escrow.merchant_payouts ORDER BY merchant;

-- =====================================================================
-- Refusals, each changing nothing
-- =====================================================================
SELECT pg_temp.parties('rf');
SELECT escrow.open_account('rf-small-line', 'USD', 'credit', 5000) AS small_line,
       escrow.open_account('rf-euro', 'EUR') AS euro, escrow.open_account('rf-poor', 'USD') AS poor,
       escrow.open_account('rf-empty-bank', 'USD') AS empty_bank,
       escrow.open_account('rf-cb-euro', 'EUR') AS cb_euro \gset
SELECT escrow.deposit(:euro, 50000) > 0 AND escrow.deposit(:poor, 100) > 0 AS funded;
SELECT escrow.register_member('rf-SB', 'Small line', 'sb@test', :small_line),
       escrow.register_institution('rf-EURO-BANK', 'Euro bank', 'eb@test', :euro),
       escrow.register_institution('rf-EMPTY-BANK', 'Empty bank', 'em@test', :empty_bank, 300);
-- the poor account and a euro account are rf-CB's, which lets rf-DB pay
-- from them too (refusals of repay and pay_invoice by the ledger)
SELECT escrow.assign_account(:poor, 'rf-CB'), escrow.assign_account(:cb_euro, 'rf-CB'),
       escrow.authorise_account_use(:poor, 'rf-DB', 'pay_from', 'rf-CB') > 0
       AND escrow.authorise_account_use(:cb_euro, 'rf-DB', 'pay_from', 'rf-CB') > 0 AS authorised;

-- Opening financed deals
SELECT pg_temp.fingerprint() AS before \gset
-- settlement unknown
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.open_deal('rf-CB', 'rf-S', 1000, settlement => 'barter', institution => 'rf-BANK')$$),
  ($$SELECT escrow.open_deal('rf-CB', 'rf-S', 1000, settlement => '')$$),
  -- agency or credit finance without an institution
  ($$SELECT escrow.open_deal('rf-DB', 'rf-S', 1000, settlement => 'agency')$$),
  ($$SELECT escrow.open_deal('rf-CB', 'rf-S', 1000, settlement => 'credit_finance')$$),
  -- escrow (the default) with an institution
  ($$SELECT escrow.open_deal('rf-DB', 'rf-S', 1000, institution => 'rf-AGY')$$),
  -- an institution that is not one (a merchant)
  ($$SELECT escrow.open_deal('rf-DB', 'rf-S', 1000, settlement => 'agency', institution => 'rf-S')$$),
  -- an unknown institution
  ($$SELECT escrow.open_deal('rf-DB', 'rf-S', 1000, settlement => 'agency', institution => 'nobody')$$),
  -- an institution working in another currency
  ($$SELECT escrow.open_deal('rf-CB', 'rf-S', 1000, settlement => 'credit_finance', institution => 'rf-EURO-BANK')$$),
  -- credit finance for a buyer paying from a deposit account
  ($$SELECT escrow.open_deal('rf-DB', 'rf-S', 1000, settlement => 'credit_finance', institution => 'rf-BANK')$$),
  -- NULL, zero and negative amounts
  ($$SELECT escrow.open_deal('rf-CB', 'rf-S', NULL, settlement => 'credit_finance', institution => 'rf-BANK')$$),
  ($$SELECT escrow.open_deal('rf-CB', 'rf-S', 0, settlement => 'credit_finance', institution => 'rf-BANK')$$),
  ($$SELECT escrow.open_deal('rf-DB', 'rf-S', -1, settlement => 'agency', institution => 'rf-AGY')$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Loan approval refused: the line (5000) is too small for 10000; the deal
-- stays identity_confirmed
SELECT pg_temp.deal_at('rf-SB', 'rf-S', 10000, 'identity_confirmed', 'credit_finance', 'rf-BANK') AS small \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.reserve(:small, 'rf-SB');
\echo :LAST_ERROR_SQLSTATE
SELECT stage, held, auth_no IS NULL AS no_auth_no, prepay_transfer IS NULL AS not_prepaid FROM escrow.deals WHERE id = :small;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- ... and when the institution cannot pre-pay the merchant
SELECT pg_temp.deal_at('rf-CB', 'rf-S', 1000, 'identity_confirmed', 'credit_finance', 'rf-EMPTY-BANK') AS empty \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.reserve(:empty, 'rf-CB');
\echo :LAST_ERROR_SQLSTATE
SELECT stage, held FROM escrow.deals WHERE id = :empty;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- The merchant cannot give the pre-payment back: it withdrew it, and the
-- buyer's cancel is refused; the hold stays, the deal stays reserved
SELECT pg_temp.deal_at('rf-CB', 'rf-S', 2000, 'funds_reserved', 'credit_finance', 'rf-BANK') AS spent \gset
SELECT escrow.withdraw(pg_temp.a('rf-shop'), 1940) > 0 AS withdrawn;
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.cancel_deal(:spent, 'changed my mind', 'rf-CB');
\echo :LAST_ERROR_SQLSTATE
SELECT stage, held FROM escrow.deals WHERE id = :spent;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Receivables: a loan of 3000 and an invoice of 2000 (both open), the
-- fully repaid loan of cf and the cancelled loan of cr
SELECT pg_temp.deal_at('rf-CB', 'rf-S', 3000, 'settled', 'credit_finance', 'rf-BANK') AS rl \gset
SELECT pg_temp.deal_at('rf-DB', 'rf-S', 2000, 'settled', 'agency', 'rf-AGY') AS ri \gset
SELECT r.id AS rf_loan FROM escrow.receivables r WHERE r.deal = :rl \gset
SELECT r.id AS rf_invoice FROM escrow.receivables r WHERE r.deal = :ri \gset
SELECT id, kind, amount, paid, status FROM escrow.receivables WHERE id IN (:rf_loan, :rf_invoice, :loan, :cr_loan) ORDER BY id;
SELECT pg_temp.fingerprint() AS before \gset
-- more than is outstanding
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.repay(%s, pg_temp.a('rf-wallet'), 3001)$$, :'rf_loan')),
  (format($$SELECT escrow.pay_invoice(%s, pg_temp.a('rf-wallet'), 2001)$$, :'rf_invoice')),
  -- a closed receivable: fully repaid, cancelled by a return
  (format($$SELECT escrow.repay(%s, pg_temp.a('cf-wallet'), 1)$$, :'loan')),
  (format($$SELECT escrow.repay(%s, pg_temp.a('cr-wallet'))$$, :'cr_loan')),
  -- the wrong function for the kind
  (format($$SELECT escrow.pay_invoice(%s, pg_temp.a('rf-wallet'), 100)$$, :'rf_loan')),
  (format($$SELECT escrow.repay(%s, pg_temp.a('rf-wallet'), 100)$$, :'rf_invoice')),
  -- an unknown receivable
  ($$SELECT escrow.repay(999, pg_temp.a('rf-wallet'), 100)$$),
  ($$SELECT escrow.pay_invoice(999, pg_temp.a('rf-wallet'))$$),
  -- from an account in another currency, from an unknown account
  (format($$SELECT escrow.repay(%s, %s, 100)$$, :'rf_loan', :'cb_euro')),
  (format($$SELECT escrow.pay_invoice(%s, %s, 100)$$, :'rf_invoice', :'cb_euro')),
  (format($$SELECT escrow.repay(%s, 999, 100)$$, :'rf_loan')),
  -- insufficient funds (the poor account has 100)
  (format($$SELECT escrow.repay(%s, %s, 101)$$, :'rf_loan', :'poor')),
  (format($$SELECT escrow.pay_invoice(%s, %s)$$, :'rf_invoice', :'poor')),
  -- repaying the line from itself
  (format($$SELECT escrow.repay(%s, pg_temp.a('rf-line'), 100)$$, :'rf_loan')),
  -- NULL receivable or account; zero and negative amounts; an empty key
  ($$SELECT escrow.repay(NULL, pg_temp.a('rf-wallet'), 100)$$),
  (format($$SELECT escrow.pay_invoice(%s, NULL, 100)$$, :'rf_invoice')),
  (format($$SELECT escrow.repay(%s, pg_temp.a('rf-wallet'), 0)$$, :'rf_loan')),
  (format($$SELECT escrow.pay_invoice(%s, pg_temp.a('rf-wallet'), -5)$$, :'rf_invoice')),
  (format($$SELECT escrow.repay(%s, pg_temp.a('rf-wallet'), 100, '')$$, :'rf_loan'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Disputes of financed deals are opened by the buyer or the merchant, as
-- for escrow deals (their paths and splits are in 27_deal_deadlines); the
-- institution is no party to the dispute (42501)
SELECT pg_temp.deal_at('rf-DB', 'rf-S', 500, 'shipped', 'agency', 'rf-AGY') AS rs \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.open_dispute(%s, 'broke after a day', 'rf-BANK')$$, :'rl')),
  (format($$SELECT escrow.open_dispute(%s, 'not as described', 'rf-AGY')$$, :'ri')),
  (format($$SELECT escrow.open_dispute(%s, 'never arrived', 'rf-AGY')$$, :'rs'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Registering institutions
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('rf-line'))$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('escrow:funding'))$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', 999)$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', NULL)$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('rf-bank'), -1)$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('rf-bank'), 10001)$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('rf-bank'), NULL)$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('rf-bank'), 0, '0 seconds')$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('rf-bank'), 0, '-1 day')$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('rf-bank'), 0, NULL)$$),
  ($$SELECT escrow.register_institution('rf-S', 'Again', 'c', pg_temp.a('rf-bank'))$$),
  ($$SELECT escrow.register_institution('system', 'N', 'c', pg_temp.a('rf-bank'))$$),
  ($$SELECT escrow.register_institution('rf N', 'N', 'c', pg_temp.a('rf-bank'))$$),
  ($$SELECT escrow.register_institution('rf-N', '', 'c', pg_temp.a('rf-bank'))$$),
  ($$SELECT escrow.register_institution('rf-N', 'N', 'c', pg_temp.a('rf-bank'), login_role => 'no_such_role')$$)) v(c);
-- an institution registered again (22023; only the SQLSTATE: its detail
-- reads "It is a institution.", see the report)
SELECT pg_temp.sqlstate_of($$SELECT escrow.register_institution('rf-BANK', 'Again', 'c', pg_temp.a('rf-bank'))$$)
       AS registered_again;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Row-level security: a receivable is seen by its debtor and its creditor
-- (the institution), not by the merchant
-- =====================================================================
SELECT escrow.register_member('rl-B', 'RLS buyer', 'b@rls.test',
                              escrow.open_account('rl-line', 'USD', 'credit', 10000), 'fin_buyer'),
       escrow.register_merchant('rl-S', 'RLS shop', 's@rls.test', escrow.open_account('rl-shop', 'USD'),
                                login_role => 'fin_shop'),
       escrow.register_institution('rl-BANK', 'RLS bank', 'i@rls.test', escrow.open_account('rl-bank', 'USD'), 100,
                                   login_role => 'fin_bank');
SELECT escrow.deposit(pg_temp.a('rl-bank'), 5000) > 0 AS funded;
SELECT pg_temp.deal_at('rl-B', 'rl-S', 1000, 'settled', 'credit_finance', 'rl-BANK') AS rls \gset
SET ROLE fin_buyer;
SELECT receivable, kind, debtor, creditor, amount, outstanding FROM escrow.receivables_due;
SELECT count(*) AS receivables FROM escrow.receivables;
RESET ROLE;
SET ROLE fin_bank;
SELECT receivable, kind, debtor, creditor, amount, outstanding FROM escrow.receivables_due;
SELECT deal, stage FROM escrow.deal_progress;
RESET ROLE;
SET ROLE fin_shop;
SELECT count(*) AS receivables FROM escrow.receivables_due;
SELECT deal, stage FROM escrow.deal_progress;
-- parties cannot repay through the platform's functions
SELECT escrow.repay(1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM escrow.verify_ledger();
-- the login roles are cluster-wide: leave none behind
DROP ROLE fin_buyer;
DROP ROLE fin_shop;
DROP ROLE fin_bank;

-- =====================================================================
-- Guards added after review: a member named as institution, serving a
-- credit-finance deal before approval, refunding a deal's transfer from
-- outside the deal, and a return whose claw-back funds the loan reversal.
-- =====================================================================
SELECT pg_temp.parties('gd');
SELECT escrow.open_deal('gd-CB', 'gd-S', 1000, settlement => 'credit_finance',
                        institution => 'gd-DB');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.deal_at('gd-CB', 'gd-S', 10000, 'identity_confirmed', 'credit_finance', 'gd-BANK') AS gd1 \gset
SELECT escrow.serve_first(:gd1, 'gd-S');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.reserve(:gd1, 'gd-CB') IS NOT NULL AS approved;
SELECT prepay_transfer AS gd_prepay FROM escrow.deals WHERE id = :gd1 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.refund(:gd_prepay);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- the bank keeps only the discount's worth beyond the loan: the return
-- claws back the pre-payment first, which pays for reversing the loan
SELECT escrow.mark_shipped(:gd1, NULL, NULL, 'gd-S') IS NOT NULL AS shipped,
       escrow.mark_delivered(:gd1, 'gd-S') IS NOT NULL AS delivered,
       escrow.confirm_inspection(:gd1, 'gd-CB') IS NOT NULL AS settled;
-- the bank keeps 9700, less than the 10000 loan it must give back
SELECT escrow.withdraw(pg_temp.a('gd-bank'), (SELECT available - 9700 FROM escrow.balances
                                              WHERE account = pg_temp.a('gd-bank'))) IS NOT NULL AS withdrawn;
SELECT escrow.request_return(:gd1, 'faulty', 'gd-CB') IS NOT NULL AS requested,
       escrow.confirm_return(:gd1, 'gd-S') IS NOT NULL AS returned;
SELECT owner, posted FROM escrow.balances
 WHERE owner IN ('gd-line', 'gd-shop', 'gd-bank') ORDER BY owner;
SELECT * FROM escrow.verify_ledger();
