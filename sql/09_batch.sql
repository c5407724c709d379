-- Batch entry points: hold_batch and capture_batch, all or nothing, same
-- rules and errors as hold() and capture().
\i sql/include/fresh_extension.sql
\set SHOW_CONTEXT never

\i sql/include/fingerprint.sql
\i sql/include/error_of.sql

SELECT escrow.open_account('bt buyer1', 'USD') AS b1 \gset
SELECT escrow.open_account('bt buyer2', 'USD') AS b2 \gset
SELECT escrow.open_account('bt shop1', 'USD') AS s1 \gset
SELECT escrow.open_account('bt shop2', 'USD') AS s2 \gset
SELECT escrow.open_account('bt euro', 'EUR') AS eu \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'USD' \gset
SELECT escrow.deposit(:b1, 1000) > 0 AS ok, escrow.deposit(:b2, 500) > 0 AS ok2;

-- three holds, two on the same buyer: ids come back in input order
SELECT escrow.hold_batch(ARRAY[:b1, :b2, :b1], ARRAY[:s1, :s2, :s2], ARRAY[300, 200, 400]) AS hb \gset
SELECT array_length(:'hb'::bigint[], 1) AS n,
       (:'hb'::bigint[])[1] < (:'hb'::bigint[])[2] AND (:'hb'::bigint[])[2] < (:'hb'::bigint[])[3] AS ordered;
SELECT debit_account = :b1 AS from_b1, credit_account = :s1 AS to_s1, amount, remaining
  FROM escrow.open_holds WHERE hold = ANY(:'hb'::bigint[]) ORDER BY hold;
SELECT owner, posted, held, available FROM escrow.balances WHERE account IN (:b1, :b2) ORDER BY account;

-- refusals: the whole batch or nothing
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s, %s], ARRAY[%s, %s, %s], ARRAY[200, 100, 101])$$, :'b1', :'b2', :'b1', :'s1', :'s1', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, 999999], ARRAY[%s, %s], ARRAY[1, 1])$$, :'b2', :'s1', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s, 999999], ARRAY[1, 1])$$, :'b2', :'b2', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s, %s], ARRAY[1, 1])$$, :'b2', :'b2', :'s1', :'eu')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s, %s], ARRAY[1, 1])$$, :'b2', :'b2', :'s1', :'funding')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s, %s], ARRAY[1, 1])$$, :'b2', :'b2', :'s1', :'b2')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s], ARRAY[%s], ARRAY[0])$$, :'b2', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s], ARRAY[%s], ARRAY[-5])$$, :'b2', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s], ARRAY[1, 1])$$, :'b2', :'b2', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s], ARRAY[%s], ARRAY[1, 1])$$, :'b2', :'s1')),
  ($$SELECT escrow.hold_batch(ARRAY[]::bigint[], ARRAY[]::bigint[], ARRAY[]::bigint[])$$),
  (format($$SELECT escrow.hold_batch(NULL, ARRAY[%s], ARRAY[1])$$, :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, NULL], ARRAY[%s, %s], ARRAY[1, 1])$$, :'b2', :'s1', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[[%s]], ARRAY[[%s]], ARRAY[[1]])$$, :'b2', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s, %s], ARRAY[9223372036854775807, 9223372036854775807])$$, :'b2', :'b2', :'s1', :'s1')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s], ARRAY[%s], ARRAY[1], '-1 hour')$$, :'b2', :'s1')),
  (format($$SELECT escrow.hold_batch(array_fill(%s::bigint, ARRAY[10001]), array_fill(%s::bigint, ARRAY[10001]), array_fill(1::bigint, ARRAY[10001]))$$, :'b2', :'s1'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- idempotency: the same batch returns the same ids; another batch is EP005
SELECT escrow.hold_batch(ARRAY[:b2], ARRAY[:s1], ARRAY[50], '1 day', 'hb-1') AS k1 \gset
SELECT escrow.hold_batch(ARRAY[:b2], ARRAY[:s1], ARRAY[50], '1 day', 'hb-1') = :'k1'::bigint[] AS same_ids;
SELECT held FROM escrow.balances WHERE account = :b2;
SELECT escrow.hold_batch(ARRAY[:b2], ARRAY[:s1], ARRAY[51], '1 day', 'hb-1');
\echo :LAST_ERROR_SQLSTATE

-- capture_batch: all remaining, a part, NULL elements
SELECT escrow.capture_batch(:'hb'::bigint[], ARRAY[100, NULL, 400]) AS cb \gset
SELECT array_length(:'cb'::bigint[], 1) AS n;
SELECT kind, amount FROM escrow.transfers WHERE id = ANY(:'cb'::bigint[]) ORDER BY id;
SELECT captured, released, status FROM escrow.holds WHERE id = ANY(:'hb'::bigint[]) ORDER BY id;
-- final releases the rest
SELECT escrow.capture_batch(ARRAY[(:'hb'::bigint[])[1]], ARRAY[50], NULL, true) IS NOT NULL AS captured;
SELECT captured, released, status FROM escrow.holds WHERE id = (:'hb'::bigint[])[1];
SELECT owner, posted, held FROM escrow.balances WHERE account IN (:b1, :b2, :s1, :s2) ORDER BY account;

-- capture_batch refusals: nothing changes
SELECT escrow.hold_batch(ARRAY[:b2, :b2], ARRAY[:s1, :s2], ARRAY[10, 20]) AS hb2 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.capture_batch(ARRAY[(%L::bigint[])[1], (%L::bigint[])[2]], ARRAY[10, 21])$$, :'hb2', :'hb2')),
  (format($$SELECT escrow.capture_batch(ARRAY[(%L::bigint[])[1], 999999])$$, :'hb2')),
  (format($$SELECT escrow.capture_batch(ARRAY[(%L::bigint[])[1], (%L::bigint[])[1]])$$, :'hb2', :'hb')),
  (format($$SELECT escrow.capture_batch(ARRAY[(%L::bigint[])[1], (%L::bigint[])[1]])$$, :'hb2', :'hb2')),
  (format($$SELECT escrow.capture_batch(ARRAY[(%L::bigint[])[1]], ARRAY[0])$$, :'hb2')),
  (format($$SELECT escrow.capture_batch(ARRAY[(%L::bigint[])[1]], ARRAY[1, 2])$$, :'hb2')),
  (format($$SELECT escrow.capture_batch(ARRAY[(%L::bigint[])[1]], NULL, NULL, NULL)$$, :'hb2')),
  ($$SELECT escrow.capture_batch(NULL)$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- idempotent capture_batch
SELECT escrow.capture_batch(:'hb2'::bigint[], NULL, 'cb-1') AS k2 \gset
SELECT escrow.capture_batch(:'hb2'::bigint[], NULL, 'cb-1') = :'k2'::bigint[] AS same_ids;
SELECT escrow.capture_batch(:'hb2'::bigint[], NULL, 'cb-1', true);
\echo :LAST_ERROR_SQLSTATE

-- an expired hold in a batch refuses the batch
SELECT escrow.hold_batch(ARRAY[:b1, :b1], ARRAY[:s1, :s2], ARRAY[5, 5], '1 millisecond') AS hb3 \gset
SELECT pg_sleep(0.05);
\set VERBOSITY terse
SELECT escrow.capture_batch(:'hb3'::bigint[]);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- batches credit a merchant (the credits wait unfolded) and debit a buyer exactly
SELECT escrow.set_account_shards(:s1, 3), escrow.set_account_shards(:b1, 2);
SELECT escrow.capture_batch(escrow.hold_batch(ARRAY[:b2, :b2, :b1], ARRAY[:s1, :s1, :s1], ARRAY[1, 2, 3])) IS NOT NULL AS done;
SELECT owner, posted, held, available FROM escrow.balances WHERE account IN (:b1, :b2, :s1) ORDER BY account;
SELECT escrow.hold_batch(ARRAY[:b1], ARRAY[:s2], ARRAY[1000]);
\echo :LAST_ERROR_SQLSTATE
-- a batch reserves on every account whose folded funds cover it in one
-- statement, and leaves the others to a decision under their row lock
-- that counts the credits waiting for them: b3's deposit is folded, b4's
-- waits; both are held on (b3 twice), then a batch that b4 cannot cover
-- is refused naming b4, and b3 keeps nothing of it
SELECT escrow.open_account('bt buyer3', 'USD') AS b3 \gset
SELECT escrow.open_account('bt buyer4', 'USD') AS b4 \gset
SELECT escrow.deposit(:b3, 100) > 0 AS ok;
SELECT escrow.fold_journal() > 0 AS folded;
SELECT escrow.deposit(:b4, 100) > 0 AS ok;
SELECT account, posted, held, available FROM escrow.balances WHERE account IN (:b3, :b4) ORDER BY account;
SELECT cardinality(escrow.hold_batch(ARRAY[:b3, :b4, :b3], ARRAY[:s1, :s1, :s2], ARRAY[30, 40, 20])) AS placed;
SELECT account, posted, held, available FROM escrow.balances WHERE account IN (:b3, :b4) ORDER BY account;
SELECT pg_temp.fingerprint() AS before \gset
SELECT pg_temp.error_of(format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s, %s], ARRAY[50, 61])$$,
                               :'b3', :'b4', :'s1', :'s1')) AS error;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT sum(posted) AS usd_total FROM escrow.balances WHERE currency = 'USD';
SELECT * FROM escrow.verify_ledger();
