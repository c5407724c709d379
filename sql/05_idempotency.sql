-- 05_idempotency: for every money function, the same key with the same
-- arguments returns the first result and changes nothing; the same key with
-- other arguments, or for another operation, is refused (EP005); keys must
-- be 1 to 200 bytes.  A refused call leaves its key unused.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql

SELECT escrow.open_account('id-buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('id-shop', 'USD') AS shop \gset

-- deposit
SELECT escrow.deposit(:buyer, 10000, 'dep-1') AS d1 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.deposit(:buyer, 10000, 'dep-1') = :d1 AS same_result;
SELECT escrow.deposit(:buyer, 10000, 'dep-1') = :d1 AS same_result;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.deposit(:buyer, 10001, 'dep-1');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.deposit(:shop, 10000, 'dep-1');
\echo :LAST_ERROR_SQLSTATE
-- without a key, the same call is a new deposit each time
SELECT escrow.deposit(:shop, 50) <> escrow.deposit(:shop, 50) AS two_deposits;

-- withdraw
SELECT escrow.withdraw(:buyer, 1000, 'wd-1') AS w1 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.withdraw(:buyer, 1000, 'wd-1') = :w1 AS same_result;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.withdraw(:buyer, 999, 'wd-1');
\echo :LAST_ERROR_SQLSTATE

-- transfer
SELECT escrow.transfer(:buyer, :shop, 700, 'tr-1') AS t1 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.transfer(:buyer, :shop, 700, 'tr-1') = :t1 AS same_result;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.transfer(:shop, :buyer, 700, 'tr-1');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.transfer(:buyer, :shop, 701, 'tr-1');
\echo :LAST_ERROR_SQLSTATE

-- hold, including its expiry: equal intervals are the same request
SELECT escrow.hold(:buyer, :shop, 3000, '1 hour', 'hold-1') AS h1 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.hold(:buyer, :shop, 3000, '1 hour', 'hold-1') = :h1 AS same_result;
SELECT escrow.hold(:buyer, :shop, 3000, '60 minutes', 'hold-1') = :h1 AS same_result;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.hold(%s, %s, 3000, '2 hours', 'hold-1')$$, :'buyer', :'shop')),
  (format($$SELECT escrow.hold(%s, %s, 3000, NULL, 'hold-1')$$, :'buyer', :'shop')),
  (format($$SELECT escrow.hold(%s, %s, 3001, '1 hour', 'hold-1')$$, :'buyer', :'shop'))) AS t(c);
SELECT escrow.hold(:buyer, :shop, 500, NULL, 'hold-2') AS h2 \gset
SELECT escrow.hold(:buyer, :shop, 500, NULL, 'hold-2') = :h2 AS same_result;

-- capture: partial, replayed after the hold moved on; NULL amount; final
SELECT escrow.capture(:h1, 1000, 'cap-1') AS c1 \gset
SELECT escrow.capture(:h1, 500, 'cap-2') AS c2 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.capture(:h1, 1000, 'cap-1') = :c1 AS same_result;
SELECT escrow.capture(:h1, 500, 'cap-2') = :c2 AS same_result;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT captured FROM escrow.holds WHERE id = :h1;
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.capture(%s, 1001, 'cap-1')$$, :'h1')),
  (format($$SELECT escrow.capture(%s, 1000, 'cap-1', true)$$, :'h1')),
  (format($$SELECT escrow.capture(%s, NULL, 'cap-1')$$, :'h1')),
  (format($$SELECT escrow.capture(%s, 1000, 'cap-1')$$, :'h2'))) AS t(c);
SELECT escrow.capture(:h1, NULL, 'cap-3') AS c3 \gset
SELECT escrow.capture(:h1, NULL, 'cap-3') = :c3 AS same_result_after_hold_ended;
SELECT escrow.hold(:buyer, :shop, 900) AS h3 \gset
SELECT escrow.capture(:h3, 100, 'cap-4', true) AS c4 \gset
SELECT escrow.capture(:h3, 100, 'cap-4', true) = :c4 AS same_result;
SELECT escrow.capture(:h3, 100, 'cap-4');
\echo :LAST_ERROR_SQLSTATE

-- release: the replay returns the amount released the first time
SELECT escrow.capture(:h2, 200) > 0 AS captured;
SELECT escrow.release(:h2, 'rel-1');
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.release(:h2, 'rel-1');
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.release(:h3, 'rel-1');
\echo :LAST_ERROR_SQLSTATE

-- refund: partial and NULL
SELECT escrow.refund(:c1, 300, 'ref-1') AS r1 \gset
SELECT escrow.refund(:c2, NULL, 'ref-2') AS r2 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.refund(:c1, 300, 'ref-1') = :r1 AS same_result;
SELECT escrow.refund(:c2, NULL, 'ref-2') = :r2 AS same_result_nothing_left;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.refund(:c1, 301, 'ref-1');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.refund(:c1, NULL, 'ref-1');
\echo :LAST_ERROR_SQLSTATE

-- a key is one operation: reusing it for another operation is refused
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.withdraw(%s, 10000, 'dep-1')$$, :'buyer')),
  (format($$SELECT escrow.transfer(%s, %s, 10, 'wd-1')$$, :'buyer', :'shop')),
  (format($$SELECT escrow.hold(%s, %s, 10, NULL, 'tr-1')$$, :'buyer', :'shop')),
  (format($$SELECT escrow.capture(%s, NULL, 'hold-1')$$, :'h1')),
  (format($$SELECT escrow.release(%s, 'cap-1')$$, :'h1')),
  (format($$SELECT escrow.refund(%s, 10, 'rel-1')$$, :'c1')),
  (format($$SELECT escrow.deposit(%s, 10, 'ref-1')$$, :'buyer'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- key length: 1 to 200 bytes (bytes, not characters); keys are exact
SELECT escrow.deposit(:shop, 1, repeat('k', 200)) > 0 AS key_200_bytes;
SELECT escrow.deposit(:shop, 1, repeat('é', 100)) > 0 AS key_100_chars_200_bytes;
SELECT escrow.deposit(:shop, 1, 'x') > 0 AS key_1_byte;
SELECT escrow.deposit(:shop, 1, 'X') > 0 AS other_case_other_key;
SELECT escrow.deposit(:shop, 1, ' x') > 0 AS leading_space_other_key;
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.deposit(%s, 1, '')$$, :'shop')),
  (format($$SELECT escrow.deposit(%s, 1, repeat('k', 201))$$, :'shop')),
  (format($$SELECT escrow.deposit(%s, 1, repeat('é', 101))$$, :'shop')),
  (format($$SELECT escrow.withdraw(%s, 1, '')$$, :'shop')),
  (format($$SELECT escrow.transfer(%s, %s, 1, repeat('k', 201))$$, :'shop', :'buyer')),
  (format($$SELECT escrow.hold(%s, %s, 1, NULL, '')$$, :'shop', :'buyer')),
  (format($$SELECT escrow.capture(%s, NULL, '')$$, :'h1')),
  (format($$SELECT escrow.release(%s, '')$$, :'h1')),
  (format($$SELECT escrow.refund(%s, 1, '')$$, :'c1'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- A refused call does not use up its key: after EP001 the key is free, and
-- only the successful request is remembered.
SELECT available AS shop_available FROM escrow.balances WHERE account = :shop \gset
SELECT escrow.withdraw(:shop, :shop_available + 1, 'retry-1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS stored FROM escrow.idempotency_keys WHERE key = 'retry-1';
SELECT escrow.withdraw(:shop, 100, 'retry-1') AS w2 \gset
SELECT escrow.withdraw(:shop, 100, 'retry-1') = :w2 AS same_result;
-- A key replayed inside the transaction that used it
BEGIN;
SELECT escrow.deposit(:buyer, 5, 'in-tx') = escrow.deposit(:buyer, 5, 'in-tx') AS same_result;
ROLLBACK;
SELECT count(*) AS stored_after_rollback FROM escrow.idempotency_keys WHERE key = 'in-tx';

-- What the keys remember (request and result), for the keys used above
SELECT k.key, k.request ~ '^[a-z]+\(' AS canonical,
       split_part(k.request, '(', 1) AS operation
  FROM escrow.idempotency_keys k
 WHERE k.key ~ '^(dep|wd|tr|hold|cap|rel|ref|retry)-' ORDER BY k.key;
SELECT result AS released FROM escrow.idempotency_keys WHERE key = 'rel-1';

SELECT owner, posted, held, available FROM escrow.balances WHERE owner LIKE 'id-%' ORDER BY owner;
SELECT * FROM escrow.verify_ledger();
