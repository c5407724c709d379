-- scripts/demo.sql -- the escrowpay demo, run by scripts/demo.sh (`make demo`)
-- in database escrow_demo, where the extension is already created, with
-- psql -X -v ON_ERROR_STOP=1.  A narrated money lifecycle: accounts,
-- deposit, hold, partial and final capture, refund, a refused hold, an
-- idempotent retry, the views and the ledger check.  Amounts are bigint
-- minor units (US cents); the *_usd columns only format them.

\set QUIET on
\pset footer off

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
