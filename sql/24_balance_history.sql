-- 24_balance_history: balances as of any time and statements.  A transfer
-- counts for an account from its created_at on: balance_at(account, at)
-- counts the transfers created at or before at, statement(account, from,
-- to) lists those created after from and at or before to, with the balance
-- after each; both agree with a sum over the journal at every transfer's
-- time (either side of it), and with escrow.balances now; the refusals;
-- who may call them; the indexes they read instead of the journal.
\set SHOW_CONTEXT never
\set VERBOSITY terse
\i sql/include/fresh_extension.sql

SELECT escrow.open_account('bh-buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('bh-shop', 'USD') AS shop \gset
SELECT escrow.open_account('bh-fees', 'USD', 'system') AS fees \gset
SELECT clock_timestamp() AS t0 \gset
SELECT escrow.deposit(:buyer, 10000) > 0 AS deposited;
SELECT clock_timestamp() AS t1 \gset
SELECT escrow.transfer(:buyer, :shop, 2500) AS tr \gset
SELECT escrow.hold(:buyer, :shop, 3000) AS h \gset
SELECT clock_timestamp() AS t2 \gset
SELECT escrow.capture(:h, 1200) AS cap \gset
SELECT escrow.transfer(:fees, :shop, 50) > 0 AS fee_paid;
SELECT clock_timestamp() AS t3 \gset
SELECT escrow.refund(:cap, 200) > 0 AS refunded;
SELECT escrow.withdraw(:shop, 1000) > 0 AS withdrew;
SELECT clock_timestamp() AS t4 \gset

-- the buyer and the shop at each moment (a hold moves no money)
SELECT m.at, escrow.balance_at(:buyer, m.t) AS buyer, escrow.balance_at(:shop, m.t) AS shop,
       escrow.balance_at(:fees, m.t) AS fees
  FROM (VALUES ('t0', :'t0'::timestamptz), ('t1', :'t1'), ('t2', :'t2'), ('t3', :'t3'),
               ('t4', :'t4'), ('-infinity', '-infinity'), ('infinity', 'infinity')) m (at, t)
 ORDER BY m.t;
-- now: what escrow.balances says
SELECT b.owner, b.posted = escrow.balance_at(b.account, 'infinity') AS balance_now
  FROM escrow.balances b WHERE b.owner LIKE 'bh-%' ORDER BY b.owner;

-- at every transfer's time and a microsecond before it, for every account,
-- balance_at equals the sum of the account's journal entries of the
-- transfers created by then (both of balance_at's ways: before the time,
-- or now less after it)
SELECT count(*) AS checked,
       count(*) FILTER (WHERE escrow.balance_at(a.account, x.at) <>
           (SELECT coalesce(sum(j.amount), 0) FROM escrow.journal j
             WHERE j.account = a.account AND j.created_at <= x.at)) AS wrong
  FROM escrow.balances a
 CROSS JOIN (SELECT created_at AS at FROM escrow.transfers
             UNION SELECT created_at - interval '1 microsecond' FROM escrow.transfers) x;

-- the shop's statement of the period t1..t3, and the whole of it
SELECT s.transfer = :tr AS is_tr, s.transfer = :cap AS is_cap, s.kind, s.counterparty = :buyer AS from_buyer,
       s.amount, s.balance
  FROM escrow.statement(:shop, :'t1', :'t3') s;
SELECT kind, amount, balance FROM escrow.statement(:shop, '-infinity', 'infinity');
SELECT count(*) AS empty FROM escrow.statement(:shop, :'t4', 'infinity');
SELECT escrow.balance_at(:shop, :'t1') AS opening, escrow.balance_at(:shop, :'t3') AS closing,
       (SELECT balance FROM escrow.statement(:shop, :'t1', :'t3') ORDER BY created_at DESC, transfer DESC LIMIT 1)
         AS last_line;

-- refusals
SELECT escrow.balance_at(NULL, now());
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.balance_at(:shop, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.balance_at(-1, now());
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM escrow.statement(:shop, :'t3', :'t1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM escrow.statement(:shop, NULL, :'t1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM escrow.statement(99999, :'t1', :'t3');
\echo :LAST_ERROR_SQLSTATE

-- every role that reads balances may call them; nobody calls the helpers
SET ROLE escrow_app;
SELECT escrow.balance_at(:shop, :'t2') AS app, count(*) AS lines FROM escrow.statement(:shop, :'t0', :'t4');
SELECT * FROM escrow.account_legs(:shop, '-infinity', 'infinity');
RESET ROLE;
SET ROLE escrow_auditor;
SELECT escrow.balance_at(:shop, :'t2') AS auditor, count(*) AS lines FROM escrow.statement(:shop, :'t0', :'t4');
RESET ROLE;
SET ROLE escrow_party;
SELECT escrow.balance_at(:shop, :'t2');
RESET ROLE;

-- they read the account's transfers through its indexes, not the journal
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT * FROM escrow.transfers t
 WHERE t.credit_account = 3 AND t.created_at > '-infinity' AND t.created_at <= now();
RESET enable_seqscan;
