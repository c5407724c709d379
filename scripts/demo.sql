-- scripts/demo.sql -- the escrowpay demo, run by scripts/demo.sh (`make demo`)
-- in database escrow_demo, where the extension is already created, with
-- psql -X -v ON_ERROR_STOP=1.  A narrated money lifecycle: accounts,
-- deposit, hold, partial and final capture, refund, a refused hold, an
-- idempotent retry, the views and the ledger check.  Then a deal
-- lifecycle on top of it (steps 13-21): a member and a merchant, a deal from
-- order through identity code, reserve, shipping, delivery and inspection to
-- settlement with a fee, and a second deal cancelled after reserve.  Steps
-- 22-26 show the other settlement models: a split payment, credit finance,
-- a payment agency, a cash terminal making change, and a two-stage
-- settlement batch.  Amounts
-- are bigint minor units (US cents); the *_usd columns only format them.

\set QUIET on
\pset footer off

-- Identity codes are stored as HMAC-SHA256 under the first key of the
-- server's key file (escrowpay.hmac_key_file): scripts/cluster.sh writes
-- one with a random key and preloads escrowpay, as a real server must
-- (docs/operations.md, "Identity-code keys").

\echo
\echo '== escrowpay demo: one order from deposit to refund (amounts in US cents) =='
\echo
\echo '1. Open three USD accounts: buyer alice (deposit account), merchant shop,'
\echo '   and buyer bob on a $500.00 credit line (kind credit, credit_limit 50000).'
SELECT escrow.open_account('alice', 'USD') AS alice,
       escrow.open_account('shop', 'USD') AS shop,
       escrow.open_account('bob', 'USD', 'credit', 50000) AS bob \gset
\echo '   alice is account ':alice', shop ':shop', bob ':bob'.'

\echo
\echo '2. alice deposits $100.00; the money comes from the USD funding account.'
SELECT escrow.deposit(:alice, 10000) AS deposit \gset
\echo '   deposit is transfer' :deposit

\echo
\echo '3. Order 1001 (provisional agreement): freeze $60.00 of alice''s balance'
\echo '   for shop until inspection, expiring in 7 days.  The call carries an'
\echo '   idempotency key, so a client retry after a timeout is harmless.'
SELECT escrow.hold(:alice, :shop, 6000, interval '7 days',
                   idempotency_key => 'order-1001-hold') AS hold \gset
\echo '   hold' :hold 'placed.  The retry with the same key and arguments returns:'
SELECT escrow.hold(:alice, :shop, 6000, interval '7 days',
                   idempotency_key => 'order-1001-hold') AS retried_hold_id;
SELECT account, posted, held, available, (available / 100.0)::numeric(12,2) AS available_usd
  FROM escrow.balances WHERE account = :alice;

\echo '4. The first parcel passes inspection: capture $25.00 of the hold.'
SELECT escrow.capture(:hold, 2500) AS capture1 \gset
\echo '   capture1 is transfer' :capture1

\echo
\echo '5. The second parcel passes too: capture $30.00 with final => true,'
\echo '   which releases the $5.00 left over and ends the hold.'
SELECT escrow.capture(:hold, 3000, final => true) AS capture2 \gset
\echo '   capture2 is transfer ':capture2'; the hold has ended:'
SELECT id AS hold, amount, captured, released, status
  FROM escrow.holds WHERE id = :hold;

\echo '6. One item of the second parcel goes back: refund $10.00 of capture2.'
SELECT escrow.refund(:capture2, 1000) AS refund \gset
\echo '   refund is transfer' :refund

\echo
\echo '7. bob reserves $120.00 on his credit line for shop, expiring in 3 days.'
SELECT escrow.hold(:bob, :shop, 12000, interval '3 days') AS bob_hold \gset
\echo '   bob''s hold is hold ':bob_hold' (ids can have gaps: the retry in step 3 used one up).'

\echo
\echo '8. alice tries to reserve $80.00 but has only $55.00 available: refused.'
\echo '   (The DO block catches the error and prints its SQLSTATE and message.)'
SET demo.alice = :alice;
SET demo.shop = :shop;
DO $demo$
DECLARE
    state text; msg text; detail text; hint text;
BEGIN
    PERFORM escrow.hold(current_setting('demo.alice')::bigint,
                        current_setting('demo.shop')::bigint, 8000);
    RAISE NOTICE 'unexpected: the hold was accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'refused, SQLSTATE %: %', state, msg
        USING DETAIL = detail, HINT = hint;
END
$demo$;

\echo
\echo '9. escrow.open_holds: holds not yet ended (bob''s reservation).'
SELECT hold, debit_account, credit_account, amount, remaining,
       expires_at - created_at AS expires_after, expired
  FROM escrow.open_holds;

\echo '10. escrow.journal: every posting is two entries that sum to zero'
\echo '    (credit +, debit -; balance is the account''s posted balance after it).'
SELECT transfer, kind, account, amount, balance, counterparty, hold, refund_of
  FROM escrow.journal ORDER BY transfer, amount;

\echo '11. escrow.verify_ledger() recomputes every invariant and hash chain;'
\echo '    no rows means the ledger is sound.'
\pset footer on
SELECT * FROM escrow.verify_ledger();
\pset footer off

\echo '12. escrow.balances: available = posted + credit_limit - held.  Account 1,'
\echo '    escrow:funding, is the other side of deposits and withdrawals: its'
\echo '    negative balance is the money that entered the ledger.'
SELECT account, owner, kind, posted, held, credit_limit, available,
       (posted / 100.0)::numeric(12,2) AS posted_usd,
       (available / 100.0)::numeric(12,2) AS available_usd
  FROM escrow.balances ORDER BY account;

-- ---------------------------------------------------------------------
-- The deal lifecycle on top of the ledger: parties, a deal from order to
-- settlement, and a second deal cancelled after its funds were reserved.
-- ---------------------------------------------------------------------

\echo
\echo '== The deal lifecycle: the same shop, now through escrow deals =='
\echo
\echo '13. Register alice as member M-1001 (deals freeze her account 2) and shop'
\echo '    as merchant S-2001 (franchise contract: settlements to account 3, a'
\echo '    2.5% fee = 250 basis points to a new fee account).  Contacts are private.'
SELECT escrow.open_account('platform-fees', 'USD') AS fees \gset
SELECT escrow.register_member('M-1001', 'Alice', 'alice@example.com', :alice) AS member,
       escrow.register_merchant('S-2001', 'Shop', 'orders@shop.example', :shop,
                                fee_bps => 250, fee_account => :fees) AS merchant \gset
\echo '   member' :member', merchant' :merchant', fee account' :fees

\echo
\echo '14. alice orders goods for $30.00: open_deal records the provisional'
\echo '    agreement (stage order_received); nothing is held yet.'
SELECT escrow.open_deal('M-1001', 'S-2001', 3000, inspection_place => 'alice''s home',
                        idempotency_key => 'shop:order-2001') AS deal \gset
SELECT txn_no, stage FROM escrow.deals WHERE id = :deal \gset
\echo '   deal' :deal 'has transaction number' :txn_no '(EP + 10 digits + Luhn check digit).'

\echo
\echo '15. Identity confirmation: a one-time 8-digit code goes to alice''s contact'
\echo '    (only its HMAC-SHA256 is stored).  A wrong code returns false and is'
\echo '    counted; the right one moves the deal to identity_confirmed.'
SELECT escrow.issue_identity_code(:deal) AS code \gset
SELECT escrow.confirm_identity(:deal, lpad(((:'code'::bigint + 1) % 100000000)::text, 8, '0')) AS wrong \gset
SELECT escrow.confirm_identity(:deal, :'code') AS right \gset
\echo '   code' :code'; wrong code ->' :wrong'; right code ->' :right

\echo
\echo '16. reserve freezes $30.00 on alice''s balance and returns the transaction'
\echo '    authentication number shown to both sides.'
SELECT escrow.reserve(:deal, 'M-1001') AS auth_no \gset
SELECT held, available FROM escrow.balances WHERE account = :alice \gset
\echo '   authentication number' :auth_no'; alice now has' :held 'held,' :available 'available.'

\echo
\echo '17. shop ships and reports delivery (the 3-day inspection window starts);'
\echo '    alice confirms the inspection: the hold is captured to shop and the'
\echo '    fee (2.5% of 3000 = 75) goes to the fee account.'
SELECT escrow.mark_shipped(:deal, 'CJ Logistics', '6012-3456-7890', 'S-2001') AS shipped \gset
SELECT escrow.mark_delivered(:deal, 'S-2001') AS delivered \gset
SELECT escrow.confirm_inspection(:deal, 'M-1001') AS capture \gset
\echo '   settled: capture is transfer' :capture

\echo
\echo '18. escrow.deal_events: the outbox, one row per step.  Each step also sends'
\echo '    NOTIFY escrow_events at commit, but that is only a wake-up: anyone may'
\echo '    NOTIFY the channel with any payload.  A consumer LISTENs and, on every'
\echo '    notification, reads the events after the last id it processed (here'
\echo '    none yet) and acts on those rows only.'
\set last_event 0
SELECT id, deal, action, from_stage, to_stage, actor
  FROM escrow.deal_events WHERE id > :last_event ORDER BY id;
SELECT max(id) AS last_event FROM escrow.deal_events \gset

\echo '19. A second order, $20.00: confirmed and reserved, then shop cancels it'
\echo '    (out of stock).  Cancelling releases the hold; no money moves.'
SELECT escrow.open_deal('M-1001', 'S-2001', 2000) AS deal2 \gset
SELECT escrow.confirm_identity(:deal2, escrow.issue_identity_code(:deal2)) AS right \gset
SELECT escrow.reserve(:deal2, 'M-1001') AS auth_no2 \gset
SELECT held AS held_before FROM escrow.balances WHERE account = :alice \gset
SELECT escrow.cancel_deal(:deal2, 'out of stock', 'S-2001') AS cancelled \gset
SELECT held AS held_after FROM escrow.balances WHERE account = :alice \gset
\echo '   alice''s held amount:' :held_before 'after reserve,' :held_after 'after cancel_deal.'
\echo '   A forged wake-up (any role may send one) changes nothing: the consumer'
\echo '   reads the outbox after the last event it processed, and finds only the'
\echo '   second deal''s real steps.'
NOTIFY escrow_events, '1';
SELECT id, deal, action, from_stage, to_stage, actor
  FROM escrow.deal_events WHERE id > :last_event ORDER BY id;
SELECT max(id) AS last_event FROM escrow.deal_events \gset

\echo
\echo '20. escrow.deal_progress: one row per deal, with the next expected actions.'
SELECT deal, txn_no, stage, held, captured, fee, next_actions
  FROM escrow.deal_progress ORDER BY deal;

\echo '21. Balances after the deals: alice paid $30.00, shop received $29.25,'
\echo '    the fee account $0.75.'
SELECT account, owner, posted, held, available
  FROM escrow.balances WHERE account IN (:alice, :shop, :fees) ORDER BY account;

\echo
\echo '== The other settlement models (docs/settlement_models.md) =='
\echo
\echo '22. Split payment: carol pays a $50.00 order $30.00 from her'
\echo '    balance and $20.00 from her credit line: one hold per source.'
SELECT escrow.open_account('carol', 'USD') AS carol,
       escrow.open_account('carol line', 'USD', 'credit', 10000) AS carol_line \gset
SELECT escrow.deposit(:carol, 4000) AS t \gset
SELECT escrow.register_member('M-1002', 'Carol', 'carol@example.com', :carol) AS m,
       escrow.assign_account(:carol_line, 'M-1002') AS a \gset
SELECT escrow.open_deal('M-1002', 'S-2001', 5000) AS deal3 \gset
SELECT escrow.set_payment_sources(:deal3, ARRAY[:carol, :carol_line], ARRAY[3000, 2000], 'M-1002') AS s \gset
SELECT escrow.confirm_identity(:deal3, escrow.issue_identity_code(:deal3)) AS ok \gset
SELECT escrow.reserve(:deal3, 'M-1002') AS auth3 \gset
SELECT owner, posted, held, available FROM escrow.balances
 WHERE account IN (:carol, :carol_line) ORDER BY account;

\echo '23. Credit finance: a bank approves a $40.00 loan on dave''s'
\echo '    credit line and pre-pays shop at once, less its 3% discount; after'
\echo '    delivery the loan is a receivable dave repays, here in part.'
SELECT escrow.open_account('bank', 'USD') AS bank,
       escrow.open_account('dave line', 'USD', 'credit', 10000) AS dave_line,
       escrow.open_account('dave', 'USD') AS dave \gset
SELECT escrow.deposit(:bank, 100000) AS t1, escrow.deposit(:dave, 5000) AS t2 \gset
SELECT escrow.register_institution('BANK-1', 'First Bank', 'loans@bank.example', :bank, 300) AS i,
       escrow.register_member('M-1003', 'Dave', 'dave@example.com', :dave_line) AS m,
       escrow.assign_account(:dave, 'M-1003') AS a \gset
SELECT escrow.open_deal('M-1003', 'S-2001', 4000, settlement => 'credit_finance',
                        institution => 'BANK-1') AS deal4 \gset
SELECT escrow.confirm_identity(:deal4, escrow.issue_identity_code(:deal4)) AS ok \gset
SELECT escrow.reserve(:deal4, 'M-1003') AS approval \gset
\echo '   approval number' :approval'; shop was pre-paid $38.80.'
SELECT escrow.mark_shipped(:deal4, 'DHL', 'D-1', 'S-2001') AS s1,
       escrow.mark_delivered(:deal4, 'S-2001') AS s2,
       escrow.confirm_inspection(:deal4, 'M-1003') AS s3 \gset
SELECT receivable AS loan FROM escrow.receivables_due WHERE txn_no =
       (SELECT txn_no FROM escrow.deals WHERE id = :deal4) \gset
SELECT escrow.repay(:loan, :dave, 1500) AS r \gset
SELECT kind, debtor, creditor, amount, paid, outstanding, overdue FROM escrow.receivables_due;

\echo '24. Payment agency: the agency pays shop at receipt and'
\echo '    invoices carol, who pays the invoice later.'
SELECT escrow.open_account('agency', 'USD') AS agency_acct \gset
SELECT escrow.deposit(:agency_acct, 100000) AS t \gset
SELECT escrow.register_institution('AGY-1', 'Pay Agency', 'ops@agency.example', :agency_acct,
                                   repay_within => '14 days') AS i \gset
SELECT escrow.open_deal('M-1002', 'S-2001', 1000, settlement => 'agency', institution => 'AGY-1') AS deal6 \gset
SELECT escrow.confirm_identity(:deal6, escrow.issue_identity_code(:deal6)) AS ok \gset
SELECT escrow.reserve(:deal6, 'M-1002') AS auth6 \gset
SELECT escrow.mark_shipped(:deal6, 'UPS', 'U-9', 'S-2001') AS s1,
       escrow.mark_delivered(:deal6, 'S-2001') AS s2,
       escrow.confirm_inspection(:deal6, 'M-1002') AS s3 \gset
SELECT receivable AS invoice FROM escrow.receivables_due WHERE kind = 'invoice' \gset
SELECT escrow.pay_invoice(:invoice, :carol) AS paid \gset
SELECT kind, debtor, creditor, amount, paid, outstanding, status FROM escrow.receivables_due ORDER BY receivable;

\echo '25. Cash terminal: erin pays a 3,780-yen order with a 5,000-yen'
\echo '    note; the terminal makes change from what it holds.'
SELECT escrow.open_account('erin', 'JPY') AS erin, escrow.open_account('ramen', 'JPY') AS ramen,
       escrow.open_account('station till', 'JPY') AS till \gset
SELECT escrow.register_member('M-1004', 'Erin', 'erin@example.com', :erin) AS m,
       escrow.register_merchant('S-2002', 'Ramen shop', 'ramen@example.com', :ramen) AS s,
       escrow.register_terminal('T-1', 'Station', :till, '{10,50,100,500,1000,5000}') AS t \gset
SELECT escrow.load_terminal_cash('T-1', '{10,50,100,500}', '{20,10,10,4}') AS loaded \gset
SELECT escrow.open_deal('M-1004', 'S-2002', 3780) AS deal5 \gset
SELECT escrow.confirm_identity(:deal5, escrow.issue_identity_code(:deal5)) AS ok \gset
SELECT denomination AS change_yen, pieces FROM escrow.pay_cash('T-1', :deal5, '{5000}');
SELECT terminal_no, cash_value, held_for_deals, pieces FROM escrow.terminal_inventory;

\echo '26. Two-stage settlement: payments so far are netted per linked'
\echo '    account into one batch with First Bank; the export sums to zero.'
SELECT escrow.link_external_account(:alice, 'BANK-1', 'DE89 0001') AS l1,
       escrow.link_external_account(:shop, 'BANK-1', 'DE89 0002') AS l2 \gset
SELECT escrow.close_settlement_batch('BANK-1') AS batch \gset
SELECT * FROM escrow.settlement_export(:batch);

\echo '27. The ledger checks out:'
\pset footer on
SELECT * FROM escrow.verify_ledger();
