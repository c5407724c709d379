-- 04_refunds: partial and several refunds of captures and transfers, never
-- more than was posted; what cannot be refunded; a merchant without the
-- funds to refund.  Every refusal shows its SQLSTATE and changes nothing.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql

SELECT escrow.open_account('rf-buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('rf-shop', 'USD') AS shop \gset
SELECT escrow.open_account('rf-card', 'USD', 'credit', 3000) AS card \gset
SELECT escrow.deposit(:buyer, 10000) AS dep \gset
SELECT escrow.hold(:buyer, :shop, 5000) AS h \gset
SELECT escrow.capture(:h, 5000) AS cap \gset
SELECT escrow.transfer(:buyer, :shop, 2000) AS tr \gset

-- Several partial refunds of a capture; NULL refunds what remains.
SELECT escrow.refund(:cap, 1000) AS r1 \gset
SELECT escrow.refund(:cap, 1500) AS r2 \gset
SELECT amount, refunded FROM escrow.transfers WHERE id = :cap;
SELECT escrow.refund(:cap) AS r3 \gset
SELECT kind, debit_account = :shop AS from_shop, credit_account = :buyer AS to_buyer,
       amount, refund_of = :cap AS of_capture, hold_id
  FROM escrow.transfers WHERE id IN (:r1, :r2, :r3) ORDER BY id;
SELECT amount, refunded FROM escrow.transfers WHERE id = :cap;
-- the hold stays captured: a refund is a new transfer, not an undo
SELECT status, captured, released FROM escrow.holds WHERE id = :h;
SELECT owner, posted, held, available FROM escrow.balances
 WHERE account IN (:buyer, :shop) ORDER BY owner;
-- in the journal a refund names the transfer it reverses
SELECT escrow.fold_journal() > 0 AS folded;
SELECT a.owner, j.amount, j.balance, j.refund_of = :cap AS refund_of_capture
  FROM escrow.journal j JOIN escrow.accounts a ON a.id = j.account
 WHERE j.transfer = :r3 ORDER BY j.amount;

-- refusals
SELECT pg_temp.fingerprint() AS before \gset
-- nothing left of the capture
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.refund(%s, 1)$$, :'cap')),
  (format($$SELECT escrow.refund(%s)$$, :'cap')),
  -- more than the transfer
  (format($$SELECT escrow.refund(%s, 2001)$$, :'tr')),
  (format($$SELECT escrow.refund(%s, 9223372036854775807)$$, :'tr')),
  -- only captures and transfers can be refunded
  (format($$SELECT escrow.refund(%s, 100)$$, :'dep')),
  (format($$SELECT escrow.refund(%s, 100)$$, :'r1')),
  (format($$SELECT escrow.refund(%s)$$, :'r1'))) AS t(c);
SELECT escrow.withdraw(:buyer, 100) AS wd \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.refund(%s, 100)$$, :'wd')),
  -- arguments
  ($$SELECT escrow.refund(NULL, 100)$$),
  (format($$SELECT escrow.refund(%s, 0)$$, :'tr')),
  (format($$SELECT escrow.refund(%s, -100)$$, :'tr')),
  ($$SELECT escrow.refund(888888, 100)$$),
  ($$SELECT escrow.refund(888888)$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- A transfer: partial refund, then over-refund of the rest, then the rest.
SELECT escrow.refund(:tr, 500) > 0 AS refunded;
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.refund(:tr, 1501);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.refund(:tr, 1500) > 0 AS refunded;
SELECT amount, refunded FROM escrow.transfers WHERE id = :tr;

-- The merchant lacks the funds: the refund is refused (EP001), nothing moves.
SELECT escrow.hold(:buyer, :shop, 4000) AS h2 \gset
SELECT escrow.capture(:h2) AS cap2 \gset
SELECT posted AS shop_posted FROM escrow.balances WHERE account = :shop \gset
SELECT escrow.withdraw(:shop, :shop_posted - 1000) > 0 AS paid_out;
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.refund(:cap2);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.refund(:cap2, 1001);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- held funds of the merchant do not count either
SELECT escrow.open_account('rf-supplier', 'USD') AS supplier \gset
SELECT escrow.hold(:shop, :supplier, 600) AS sh \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.refund(:cap2, 401);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.release(:sh);
SELECT escrow.refund(:cap2, 1000) > 0 AS refunded_what_is_there;
SELECT amount, refunded FROM escrow.transfers WHERE id = :cap2;

-- A capture from a credit line is refunded back onto the line.
SELECT escrow.hold(:card, :shop, 2500) AS ch \gset
SELECT escrow.capture(:ch, 2500) AS ccap \gset
SELECT owner, posted, credit_limit, available FROM escrow.balances WHERE account = :card;
SELECT escrow.refund(:ccap, 700) > 0 AS refunded;
SELECT owner, posted, credit_limit, available FROM escrow.balances WHERE account = :card;
SELECT escrow.set_credit_limit(:card, 1800);
SELECT escrow.set_credit_limit(:card, 1799);
\echo :LAST_ERROR_SQLSTATE

-- Refunding to a system account (which may go negative) and from it.
SELECT escrow.open_account('rf-fees', 'USD', 'system') AS fees \gset
SELECT escrow.transfer(:fees, :shop, 300) AS ft \gset
SELECT escrow.refund(:ft) > 0 AS refunded;
SELECT owner, posted FROM escrow.balances WHERE account = :fees;
-- a refund cannot push the original payer past its bound
SELECT escrow.open_account('rf-rich', 'USD') AS rich \gset
SELECT escrow.transfer(:fees, :rich, 10) > 0 AND escrow.transfer(:rich, :shop, 10) > 0 AS paid;
SELECT id AS rt FROM escrow.transfers WHERE debit_account = :rich \gset
SELECT escrow.open_account('rf-mint', 'USD', 'system') AS mint \gset
SELECT count(escrow.transfer(:mint, :rich, 1000000000000000)) AS rich_at_max FROM generate_series(1, 10);
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.refund(:rt, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT count(escrow.transfer(:rich, :mint, 1000000000000000)) AS back FROM generate_series(1, 10);
SELECT escrow.refund(:rt) > 0 AS refunded;

SELECT owner, posted, held, credit_limit, available FROM escrow.balances
 WHERE owner LIKE 'rf-%' ORDER BY owner;
SELECT kind, count(*), sum(amount), sum(refunded) FROM escrow.transfers GROUP BY kind ORDER BY kind;
SELECT * FROM escrow.verify_ledger();
