-- history: balances as of a time, statements, signed checkpoints and their
-- proofs, retention and the metrics view on a Citus cluster (a coordinator
-- and two workers, scripts/citus-cluster.sh), run by scripts/test.sh (kind
-- citus) in a database of its own with escrowpay distributed.
\set SHOW_CONTEXT never

-- pg_temp.node(), and two accounts on different workers, a (lower id) and b
\set prefix hi
\set currency EUR
\i test/citus/include/two_workers.sql

-- a history with a known time in the middle
SELECT escrow.deposit(:a, 10000) IS NOT NULL AS deposited;
SELECT escrow.transfer(:a, :b, 1000) AS t1 \gset
SELECT clock_timestamp() AS mid \gset
SELECT pg_sleep(0.01);
SELECT escrow.transfer(:a, :b, 500) AS t2 \gset
SELECT escrow.transfer(:b, :a, 200) AS t3 \gset
SELECT escrow.capture(escrow.hold(:a, :b, 50)) AS c1 \gset

-- balance_at from either end of the history, and statement lines that
-- chain to it
SELECT escrow.balance_at(:a, :'mid') AS a_mid, escrow.balance_at(:b, :'mid') AS b_mid,
       escrow.balance_at(:a, now()) AS a_now, escrow.balance_at(:b, now()) AS b_now,
       escrow.balance_at(:a, '2000-01-01') AS a_before;
SELECT posted FROM escrow.balances WHERE account = :a;
SELECT transfer = :t2 AS t2, kind, counterparty = :b AS with_b, amount, balance
  FROM escrow.statement(:a, :'mid', now()) ORDER BY created_at, transfer LIMIT 1;
SELECT count(*) AS lines, sum(amount) AS moved FROM escrow.statement(:b, :'mid', now());
SELECT escrow.balance_at(:b, :'mid') + (SELECT sum(amount) FROM escrow.statement(:b, :'mid', now()))
       = escrow.balance_at(:b, now()) AS statement_chains;

-- signed checkpoints over the distributed transfers: each leaf's currency
-- is its debit account's, read from the account's worker
SELECT escrow.checkpoint() AS cp1;
SELECT tree_size = (SELECT count(*) FROM escrow.transfers) AS covers_all FROM escrow.checkpoints;
SELECT escrow.inclusion_proof(:t1)->'transfer'->>'currency' AS currency,
       (escrow.inclusion_proof(:t1)->'checkpoint'->>'seq')::int AS seq;
SELECT escrow.checkpoint() IS NULL AS nothing_new;
SELECT escrow.transfer(:a, :b, 1) IS NOT NULL AS another;
SELECT escrow.checkpoint() AS cp2;
SELECT seq, last_transfer = (SELECT max(id) FROM escrow.transfers) AS up_to_last
  FROM escrow.checkpoints ORDER BY seq;
-- the checkpoints anchored a's and b's balances (tables of the
-- coordinator's: their open anchors, fewer than 256 legs each);
-- balance_at starts from the anchors now and says what it said before them
SELECT count(*) AS anchors, sum(legs) AS legs
  FROM (SELECT account, legs FROM escrow.balance_anchors
        UNION ALL SELECT account, legs FROM escrow.open_balance_anchors) b
 WHERE account IN (:a, :b);
SELECT escrow.balance_at(:a, :'mid') AS a_mid, escrow.balance_at(:b, :'mid') AS b_mid,
       escrow.balance_at(:a, '2000-01-01') AS a_before;
SELECT * FROM escrow.verify_ledger();

-- retention: idempotency keys past escrowpay.idempotency_retention go
SELECT escrow.transfer(:a, :b, 1, 'hi-old') IS NOT NULL AS keyed;
SELECT escrow.transfer(:a, :b, 1, 'hi-new') IS NOT NULL AS keyed;
UPDATE escrow.idempotency_keys SET created_at = now() - interval '3 days' WHERE key = 'hi-old';
SET escrowpay.idempotency_retention = '2d';
SELECT * FROM escrow.apply_retention() ORDER BY purged;
SELECT key FROM escrow.idempotency_keys WHERE key LIKE 'hi-%' ORDER BY key;
RESET escrowpay.idempotency_retention;

-- the metrics view counts the distributed holds, also filtered by metric
-- as postgres_exporter's queries are (a filter becomes a constant
-- condition in each branch of the view, which Citus 13.2 on PostgreSQL 15
-- refuses beside an outer join: the view has none)
SELECT escrow.hold(:a, :b, 70) IS NOT NULL AS held;
SELECT metric, value FROM escrow.metrics WHERE metric = 'escrowpay_holds_open';
SELECT metric, labels, value FROM escrow.metrics WHERE metric LIKE 'escrowpay_holds%'
 ORDER BY metric, labels::text;
SELECT value >= 0 AS checkpoint_age FROM escrow.metrics
 WHERE metric = 'escrowpay_checkpoint_age_seconds';
SELECT labels ->> 'stage' AS stage, value FROM escrow.metrics
 WHERE metric = 'escrowpay_deals_in_stage' AND labels ->> 'stage' IN ('settled', 'shipped')
 ORDER BY 1;
SELECT labels ->> 'kind' AS kind, value FROM escrow.metrics
 WHERE metric = 'escrowpay_receivables_overdue' ORDER BY 1;
SELECT * FROM escrow.verify_ledger();
