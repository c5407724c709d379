-- 25_transfer_owners: every transfer a deal, a receivable, a cash terminal
-- or a settlement batch posts belongs to it (escrow.transfer_owners) and
-- moves only through it: escrow.refund() refuses it with EP007 naming the
-- owner, and changes nothing.  The two reversals an outside review made
-- (refund an invoice payment, then return the goods: the buyer paid back
-- twice; refund a loan repayment: the loan "paid" with the line still
-- drawn) are refused.  A refund the owner makes belongs to the same owner.
-- verify_ledger() checks that owners, receivables, their payments and
-- their deals agree; each check is shown firing on data corrupted by the
-- superuser (in a transaction rolled back; the journal guard as it is).
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- Everything a refused call could have touched
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
\i sql/include/deal_at.sql
-- Balances of the buyers' and institutions' accounts
CREATE FUNCTION pg_temp.money() RETURNS TABLE (owner text, posted bigint, held bigint)
LANGUAGE sql AS $$
  SELECT owner, posted, held FROM escrow.balances
   WHERE owner IN ('wallet', 'cwallet', 'line', 'agency', 'bank', 'shop') ORDER BY owner
$$;

SELECT escrow.open_account('wallet', 'USD') AS wallet, escrow.open_account('agency', 'USD') AS agency,
       escrow.open_account('bank', 'USD') AS bank, escrow.open_account('line', 'USD', 'credit', 50000) AS line,
       escrow.open_account('shop', 'USD') AS shop, escrow.open_account('cwallet', 'USD') AS cwallet \gset
SELECT escrow.deposit(:wallet, 100000) > 0 AND escrow.deposit(:agency, 100000) > 0
       AND escrow.deposit(:bank, 100000) > 0 AND escrow.deposit(:cwallet, 100000) > 0 AS funded;
SELECT escrow.register_member('DB', 'Deposit buyer', 'db@test', :wallet),
       escrow.register_member('CB', 'Credit buyer', 'cb@test', :line),
       escrow.register_merchant('S', 'Shop', 's@test', :shop,
                                fee_bps => 250, fee_account => escrow.open_account('fees', 'USD')),
       escrow.register_institution('AGY', 'Agency', 'agy@test', :agency),
       escrow.register_institution('BANK', 'Bank', 'bank@test', :bank, 300);
-- the credit buyer repays from a deposit account of its own
SELECT escrow.assign_account(:cwallet, 'CB');

-- =====================================================================
-- An invoice payment cannot be refunded behind the deal's back: the
-- return then gives the buyer its payment back once, from the agency.
-- =====================================================================
SELECT pg_temp.deal_at('DB', 'S', 4000, 'settled', 'agency', 'AGY') AS ag \gset
SELECT id AS invoice FROM escrow.receivables WHERE deal = :ag \gset
SELECT escrow.pay_invoice(:invoice, :wallet) AS pay \gset
SELECT * FROM pg_temp.money();
SELECT pg_temp.fingerprint() AS before \gset
SELECT pg_temp.error_of(format('SELECT escrow.refund(%s)', :pay));
SELECT pg_temp.error_of(format('SELECT escrow.refund(%s, 1, %L)', :pay, 'k-refund-pay'));
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.request_return(:ag, 'wrong size', 'DB'), escrow.confirm_return(:ag, 'S');
-- the wallet is back where it started (100000), the agency too
SELECT * FROM pg_temp.money();
SELECT paid, status FROM escrow.receivables WHERE id = :invoice;
-- the invoice's own transfers: the payment, and the payment sent back
SELECT t.kind, t.amount, d.owner AS debit, c.owner AS credit, t.refunded
  FROM escrow.transfers t JOIN escrow.transfer_owners o ON o.transfer_id = t.id
  JOIN escrow.accounts d ON d.id = t.debit_account JOIN escrow.accounts c ON c.id = t.credit_account
 WHERE o.receivable = :invoice ORDER BY t.id;
SELECT pg_temp.error_of(format('SELECT escrow.refund(%s)', max(transfer_id)))
  FROM escrow.transfer_owners WHERE receivable = :invoice;
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- A loan repayment cannot be refunded: the loan stays paid with the line
-- given back, or it would be "paid" with the line still drawn.
-- =====================================================================
SELECT pg_temp.deal_at('CB', 'S', 6000, 'settled', 'credit_finance', 'BANK') AS cf \gset
SELECT id AS loan FROM escrow.receivables WHERE deal = :cf \gset
SELECT escrow.repay(:loan, :cwallet) AS repay \gset
SELECT paid, status FROM escrow.receivables WHERE id = :loan;
SELECT * FROM pg_temp.money();
SELECT pg_temp.fingerprint() AS before \gset
SELECT pg_temp.error_of(format('SELECT escrow.refund(%s)', :repay));
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Every owner: which transfers belong to whom
-- =====================================================================
-- a deal: its captures, fee, pre-payment, payout; the refunds it made
SELECT escrow.register_terminal('T-1', 'Lobby', escrow.open_account('till', 'USD'), '{100,500,1000}');
SELECT escrow.load_terminal_cash('T-1', '{100,500}', '{20,4}') > 0 AS loaded;
SELECT escrow.open_deal('DB', 'S', 700) AS cash \gset
SELECT escrow.confirm_identity(:cash, escrow.issue_identity_code(:cash));
SELECT denomination, pieces FROM escrow.pay_cash('T-1', :cash, '{1000}');
SELECT escrow.unload_terminal_cash('T-1', '{1000}', '{1}') > 0 AS unloaded;
SELECT escrow.register_institution('CLEAR', 'Clearing bank', 'c@test', escrow.open_account('clear', 'USD'));
SELECT escrow.link_external_account(:shop, 'CLEAR', 'EXT-SHOP');
SELECT escrow.close_settlement_batch('CLEAR', clock_timestamp()) AS batch \gset
SELECT t.kind, coalesce('deal ' || o.deal, 'receivable ' || o.receivable, 'terminal ' || o.terminal,
                        'batch ' || o.batch, 'nobody') AS owner, count(*)
  FROM escrow.transfers t LEFT JOIN escrow.transfer_owners o ON o.transfer_id = t.id
 GROUP BY 1, 2 ORDER BY 2, 1;

-- each refused by refund() with EP007, naming the owner; nothing changes
SELECT pg_temp.fingerprint() AS before \gset
SELECT o.kind, pg_temp.error_of(format('SELECT escrow.refund(%s, 1)', o.id)) AS refused
  FROM (SELECT DISTINCT ON (k) k AS kind, id FROM (
          SELECT CASE WHEN o.deal IS NOT NULL THEN 'deal ' || t.kind
                      WHEN o.receivable IS NOT NULL THEN 'receivable ' || t.kind
                      WHEN o.terminal IS NOT NULL THEN 'terminal ' || t.kind
                      ELSE 'batch ' || t.kind END AS k, t.id
            FROM escrow.transfers t JOIN escrow.transfer_owners o ON o.transfer_id = t.id) x
        ORDER BY k, id) o
 ORDER BY o.kind;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- the cash deal's hold (on the terminal's cash account) moves only through the deal
SELECT pg_temp.error_of(format('SELECT escrow.capture(%s, 1)', hold_id)),
       pg_temp.error_of(format('SELECT escrow.release(%s)', hold_id))
  FROM escrow.deals WHERE id = :cash;
SELECT pg_temp.error_of(format('SELECT escrow.capture_batch(ARRAY[%s]::bigint[])', hold_id))
  FROM escrow.deals WHERE id = :cash;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- transfers of the public API are refunded as before, and nobody's
SELECT escrow.transfer(:wallet, :shop, 300) AS plain \gset
SELECT escrow.refund(:plain, 100) AS plain_refund \gset
SELECT count(*) AS owned FROM escrow.transfer_owners WHERE transfer_id IN (:plain, :plain_refund);
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- verify_ledger(): each new check fires on corrupted data (superuser,
-- rolled back; the journal itself cannot be edited)
-- =====================================================================
SELECT pg_temp.deal_at('DB', 'S', 5000, 'settled', 'agency', 'AGY') AS ag2 \gset
SELECT id AS invoice2 FROM escrow.receivables WHERE deal = :ag2 \gset
SELECT escrow.pay_invoice(:invoice2, :wallet, 2000) AS pay2 \gset
SELECT pg_temp.deal_at('CB', 'S', 3000, 'settled', 'credit_finance', 'BANK') AS cf2 \gset
SELECT id AS loan2 FROM escrow.receivables WHERE deal = :cf2 \gset
SELECT escrow.repay(:loan2, :cwallet, 1000) AS repay2 \gset
SELECT * FROM escrow.verify_ledger();

-- the reported reversal, the ownership record lifted for it and put
-- back: the ledger balances, but the invoice's payment is refunded and
-- the refund belongs to nobody
BEGIN;
DELETE FROM escrow.transfer_owners WHERE transfer_id = :pay2;
SELECT escrow.refund(:pay2) > 0 AS refunded_behind_the_deal;
INSERT INTO escrow.transfer_owners (transfer_id, receivable) VALUES (:pay2, :invoice2);
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
-- the same, the ownership record left out: paid no longer matches
BEGIN;
DELETE FROM escrow.transfer_owners WHERE transfer_id = :pay2;
SELECT escrow.refund(:pay2) > 0 AS refunded_behind_the_deal;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
-- the same with a repayment: the loan and the line disagree
BEGIN;
DELETE FROM escrow.transfer_owners WHERE transfer_id = :repay2;
SELECT escrow.refund(:repay2) > 0 AS refunded_behind_the_deal;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
-- paid without a payment; paid in full but still open; marked paid early
BEGIN;
UPDATE escrow.receivables SET paid = paid + 500 WHERE id = :invoice2;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
BEGIN;
UPDATE escrow.receivables SET amount = paid WHERE id = :invoice2;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
BEGIN;
UPDATE escrow.receivables SET status = 'paid' WHERE id = :loan2;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
-- a cancelled invoice whose payments were not returned
BEGIN;
UPDATE escrow.receivables SET status = 'cancelled' WHERE id = :invoice2;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
-- the receivable of another deal's terms; an agency deal completed unpaid
BEGIN;
UPDATE escrow.receivables SET pay_to = :wallet, due_at = due_at WHERE id = :invoice2;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
BEGIN;
UPDATE escrow.deals SET stage = 'completed', deadline = NULL WHERE id = :ag2;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
-- a settled agency deal whose invoice is gone
SELECT pg_temp.deal_at('DB', 'S', 1000, 'settled', 'agency', 'AGY') AS ag3 \gset
BEGIN;
DELETE FROM escrow.receivables WHERE deal = :ag3;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
-- a loan whose deal's capture was given back while the loan stands
BEGIN;
DELETE FROM escrow.transfer_owners o USING escrow.deals d
 WHERE d.id = :cf2 AND o.transfer_id = d.capture_transfer;
SELECT escrow.refund(capture_transfer, 100) > 0 AS refunded FROM escrow.deals WHERE id = :cf2;
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
-- ownership records: a deal's fee owned by another deal, a terminal's
-- load by a deal, a batch's settlement by a terminal, a record of no
-- transfer
BEGIN;
UPDATE escrow.transfer_owners o SET deal = :ag WHERE o.transfer_id = (SELECT fee_transfer FROM escrow.deals WHERE id = :ag2);
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
BEGIN;
UPDATE escrow.transfer_owners SET terminal = NULL, deal = :ag
 WHERE transfer_id = (SELECT min(transfer_id) FROM escrow.transfer_owners WHERE terminal = 'T-1');
UPDATE escrow.transfer_owners SET batch = NULL, terminal = 'T-1' WHERE batch = :batch;
INSERT INTO escrow.transfer_owners (transfer_id, deal) VALUES (999999, :ag);
SELECT * FROM escrow.verify_ledger();
ROLLBACK;
SELECT * FROM escrow.verify_ledger();
