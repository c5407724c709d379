-- 02_transfers: deposit, withdraw, transfer, the journal view and the
-- append-only journal.  Every refusal shows its SQLSTATE and changes nothing.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql

SELECT escrow.open_account('tr-ann', 'USD') AS ann \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'USD' \gset
SELECT escrow.open_account('tr-ben', 'USD') AS ben \gset
SELECT escrow.open_account('tr-line', 'USD', 'credit', 1000) AS line \gset
SELECT escrow.open_account('tr-euro', 'EUR') AS euro \gset

-- deposit, withdraw and transfer each return a new transfer id
SELECT escrow.deposit(:ann, 10000) AS t1 \gset
SELECT escrow.withdraw(:ann, 2500) AS t2 \gset
SELECT escrow.transfer(:ann, :ben, 4000) AS t3 \gset
SELECT escrow.transfer(:line, :ben, 600) AS t4 \gset
SELECT escrow.deposit(:euro, 50) AS t5 \gset
SELECT :t2 > :t1 AND :t3 > :t2 AND :t4 > :t3 AND :t5 > :t4 AS ids_increase;
-- withdrawing exactly what is available leaves zero
SELECT escrow.withdraw(:ben, 4600) > 0 AS emptied;
SELECT owner, currency, posted, held, credit_limit, available
  FROM escrow.balances ORDER BY currency, owner;
SELECT kind, debit_account = :funding AS from_funding, credit_account = :funding AS to_funding,
       amount, refunded, hold_id, refund_of
  FROM escrow.transfers ORDER BY id;

-- journal: two entries per transfer summing to zero, per-account sequence
-- numbers and running balances once folded, the counterparty of each leg
SELECT count(*) FILTER (WHERE seq IS NULL) > 0 AS some_unfolded FROM escrow.journal;
SELECT escrow.fold_journal() > 0 AS folded;
SELECT j.transfer - :t1 + 1 AS n, j.kind, a.owner, j.seq, j.amount, j.balance,
       j.currency, c.owner AS counterparty, j.hold, j.refund_of, length(j.hash) AS hash_hex_len
  FROM escrow.journal j
  JOIN escrow.accounts a ON a.id = j.account
  JOIN escrow.accounts c ON c.id = j.counterparty
 ORDER BY j.transfer, j.amount;
SELECT transfer, sum(amount) FROM escrow.journal GROUP BY transfer HAVING sum(amount) <> 0;
SELECT count(DISTINCT hash) = count(*) AS hashes_distinct FROM escrow.journal;

-- deposit refusals
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.deposit(NULL, 100)$$),
  (format($$SELECT escrow.deposit(%s, NULL)$$, :'ann')),
  (format($$SELECT escrow.deposit(%s, 0)$$, :'ann')),
  (format($$SELECT escrow.deposit(%s, -100)$$, :'ann')),
  (format($$SELECT escrow.deposit(%s, -9223372036854775808)$$, :'ann')),
  ($$SELECT escrow.deposit(424242, 100)$$),
  -- the funding account cannot fund itself
  (format($$SELECT escrow.deposit(%s, 100)$$, :'funding'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- withdraw refusals
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.withdraw(NULL, 100)$$),
  (format($$SELECT escrow.withdraw(%s, NULL)$$, :'ann')),
  (format($$SELECT escrow.withdraw(%s, 0)$$, :'ann')),
  (format($$SELECT escrow.withdraw(%s, -1)$$, :'ann')),
  ($$SELECT escrow.withdraw(424242, 100)$$),
  (format($$SELECT escrow.withdraw(%s, 3501)$$, :'ann')),
  (format($$SELECT escrow.withdraw(%s, 1)$$, :'ben')),
  (format($$SELECT escrow.withdraw(%s, 401)$$, :'line')),
  (format($$SELECT escrow.withdraw(%s, 100)$$, :'funding'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- transfer refusals
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.transfer(NULL, %s, 100)$$, :'ben')),
  (format($$SELECT escrow.transfer(%s, NULL, 100)$$, :'ann')),
  (format($$SELECT escrow.transfer(%s, %s, NULL)$$, :'ann', :'ben')),
  (format($$SELECT escrow.transfer(%s, %s, 0)$$, :'ann', :'ben')),
  (format($$SELECT escrow.transfer(%s, %s, -100)$$, :'ann', :'ben')),
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'ann', :'ann')),
  (format($$SELECT escrow.transfer(424242, %s, 100)$$, :'ben')),
  (format($$SELECT escrow.transfer(%s, 424242, 100)$$, :'ann')),
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'ann', :'euro')),
  (format($$SELECT escrow.transfer(%s, %s, 10)$$, :'euro', :'ann')),
  (format($$SELECT escrow.transfer(%s, %s, 3501)$$, :'ann', :'ben')),
  (format($$SELECT escrow.transfer(%s, %s, 401)$$, :'line', :'ann'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Balances are bounded (docs/reference.md, "Limits"): a deposit or credit
-- account's balance at most 10^16, one amount at most 10^15.  A call that
-- would pass a bound is refused (22003; 22023 for an amount over its
-- limit), never wrapped.  A balance at its bound: a system account (which
-- may go negative) pays one deposit account the largest amount ten times.
SELECT escrow.open_account('tr-big', 'JPY') AS big \gset
SELECT escrow.open_account('tr-mint-1', 'JPY', 'system') AS mint1 \gset
SELECT escrow.open_account('tr-mint-2', 'JPY', 'system') AS mint2 \gset
SELECT count(escrow.transfer(:mint1, :big, 1000000000000000)) AS at_max FROM generate_series(1, 10);
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.transfer(:mint2, :big, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.open_account('tr-krw-1', 'KRW') AS krw1 \gset
SELECT escrow.open_account('tr-krw-2', 'KRW') AS krw2 \gset
SELECT count(escrow.deposit(:krw1, 1000000000000000)) AS deposited_max FROM generate_series(1, 10);
SELECT pg_temp.fingerprint() AS before \gset
-- One more to the full account is refused at its bound; a deposit of more
-- than the largest amount, to any account, before anything is done (a
-- second deposit of the bigint maximum once pinned the KRW funding account
-- at the bigint minimum).
SELECT escrow.deposit(:krw1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.deposit(:krw2, 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.deposit(:krw2, 1) > 0 AS deposited;
SELECT owner, posted FROM escrow.balances WHERE currency = 'KRW' ORDER BY owner;
SELECT owner, posted FROM escrow.balances WHERE currency = 'JPY' ORDER BY owner;
SELECT count(escrow.transfer(:big, :mint1, 1000000000000000)) AS back_to_zero FROM generate_series(1, 10);

-- The journal is append-only, even for a superuser.
SELECT current_setting('is_superuser') AS superuser;
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$UPDATE escrow.entries SET amount = amount + 1 WHERE transfer_id = %s$$, :'t1')),
  (format($$UPDATE escrow.entries SET hash = hash WHERE transfer_id = %s$$, :'t1')),
  (format($$DELETE FROM escrow.entries WHERE transfer_id = %s$$, :'t1')),
  ($$TRUNCATE escrow.entries$$),
  (format($$UPDATE escrow.transfers SET amount = 1 WHERE id = %s$$, :'t1')),
  (format($$UPDATE escrow.transfers SET refunded = refunded - 1 WHERE id = %s$$, :'t3')),
  (format($$UPDATE escrow.transfers SET refunded = amount + 1 WHERE id = %s$$, :'t3')),
  (format($$DELETE FROM escrow.transfers WHERE id = %s$$, :'t1')),
  ($$TRUNCATE escrow.transfers$$),
  ($$TRUNCATE escrow.transfers, escrow.entries CASCADE$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- Smoke check: escrow_app moves money through the functions, reads the
-- views, and cannot write the tables.
SET ROLE escrow_app;
SELECT escrow.open_account('tr-app', 'USD') AS app \gset
SELECT escrow.deposit(:app, 700) > 0 AS deposited;
SELECT escrow.transfer(:app, :ann, 200) > 0 AS transferred;
SELECT escrow.withdraw(:app, 100) > 0 AS withdrew;
SELECT escrow.hold(:app, :ann, 300, '1 hour', 'app-hold') AS app_hold \gset
SELECT escrow.capture(:app_hold, 100) AS app_cap \gset
SELECT escrow.release(:app_hold) AS released;
SELECT escrow.refund(:app_cap, 40) > 0 AS refunded;
SELECT owner, posted, available FROM escrow.balances WHERE account = :app;
SELECT count(*) FROM escrow.journal WHERE account = :app;
UPDATE escrow.accounts SET posted = posted + 1000000 WHERE id = :app;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT owner, currency, posted, held, available FROM escrow.balances ORDER BY currency, owner;
SELECT * FROM escrow.verify_ledger();
