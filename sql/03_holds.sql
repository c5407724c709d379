-- 03_holds: hold, capture (partial, several, NULL = the rest, final),
-- release, expiry (capture refused past it, expire_holds), credit-line
-- holds, and every refusal with its SQLSTATE, changing nothing.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
-- A hold's state, without timestamps
CREATE FUNCTION pg_temp.hold_state(bigint) RETURNS TABLE
    (status text, amount bigint, captured bigint, released bigint, ended boolean)
LANGUAGE sql AS $$
  SELECT status, amount, captured, released, ended_at IS NOT NULL FROM escrow.holds WHERE id = $1
$$;

SELECT escrow.open_account('ho-buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('ho-shop', 'USD') AS shop \gset
SELECT escrow.open_account('ho-line', 'USD', 'credit', 5000) AS line \gset
SELECT escrow.open_account('ho-euro', 'EUR') AS euro \gset
SELECT escrow.open_account('ho-clearing', 'USD', 'system') AS clearing \gset
SELECT escrow.open_account('ho-empty', 'USD') AS empty \gset
SELECT escrow.deposit(:buyer, 10000) > 0 AS funded;

-- A hold freezes the amount: available drops, posted does not.
SELECT escrow.hold(:buyer, :shop, 3000) AS h1 \gset
SELECT owner, posted, held, available FROM escrow.balances
 WHERE owner LIKE 'ho-%' AND currency = 'USD' ORDER BY owner;
SELECT debit_account = :buyer AS from_buyer, credit_account = :shop AS to_shop, currency,
       amount, captured, released, remaining, expires_at IS NULL AS no_expiry, expired
  FROM escrow.open_holds WHERE hold = :h1;
-- what is held cannot be withdrawn or transferred
SELECT escrow.withdraw(:buyer, 7001);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.transfer(:buyer, :shop, 7001);
\echo :LAST_ERROR_SQLSTATE

-- Several partial captures, then NULL captures the rest and ends the hold.
SELECT escrow.capture(:h1, 1000) AS c1 \gset
SELECT * FROM pg_temp.hold_state(:h1);
SELECT escrow.capture(:h1, 500) AS c2 \gset
SELECT escrow.capture(:h1) AS c3 \gset
SELECT * FROM pg_temp.hold_state(:h1);
SELECT kind, amount, hold_id = :h1 AS of_h1 FROM escrow.transfers
 WHERE id IN (:c1, :c2, :c3) ORDER BY id;
SELECT owner, posted, held, available FROM escrow.balances
 WHERE account IN (:buyer, :shop) ORDER BY owner;
SELECT count(*) AS open FROM escrow.open_holds WHERE hold = :h1;

-- final: capture part and release the rest in one call
SELECT escrow.hold(:buyer, :shop, 2000) AS h2 \gset
SELECT escrow.capture(:h2, 400, final => true) > 0 AS captured;
SELECT * FROM pg_temp.hold_state(:h2);
-- final with NULL amount is a full capture; final with the exact rest too
SELECT escrow.hold(:buyer, :shop, 300) AS h3 \gset
SELECT escrow.capture(:h3, NULL, NULL, true) > 0 AS captured;
SELECT * FROM pg_temp.hold_state(:h3);
SELECT escrow.hold(:buyer, :shop, 300) AS h4 \gset
SELECT escrow.capture(:h4, 100) > 0 AND escrow.capture(:h4, 200, final => true) > 0 AS captured;
SELECT * FROM pg_temp.hold_state(:h4);

-- release returns what remained, also after a partial capture
SELECT escrow.hold(:buyer, :shop, 800) AS h5 \gset
SELECT escrow.release(:h5);
SELECT * FROM pg_temp.hold_state(:h5);
SELECT escrow.hold(:buyer, :shop, 800) AS h6 \gset
SELECT escrow.capture(:h6, 250) > 0 AS captured;
SELECT escrow.release(:h6);
SELECT * FROM pg_temp.hold_state(:h6);
SELECT owner, posted, held, available FROM escrow.balances
 WHERE account IN (:buyer, :shop) ORDER BY owner;

-- refusals of ended holds and of too much
SELECT escrow.hold(:buyer, :shop, 1000) AS h7 \gset
SELECT escrow.capture(:h7, 600) > 0 AS captured;
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.capture(%s, 401)$$, :'h7')),
  (format($$SELECT escrow.capture(%s, 401, final => true)$$, :'h7')),
  (format($$SELECT escrow.release(%s)$$, :'h5')),
  (format($$SELECT escrow.capture(%s, 1)$$, :'h5')),
  (format($$SELECT escrow.capture(%s)$$, :'h5')),
  (format($$SELECT escrow.capture(%s)$$, :'h1')),
  (format($$SELECT escrow.release(%s)$$, :'h1')),
  (format($$SELECT escrow.capture(%s, 1)$$, :'h2')),
  -- argument refusals: capture, release
  ($$SELECT escrow.capture(NULL, 100)$$),
  (format($$SELECT escrow.capture(%s, 0)$$, :'h7')),
  (format($$SELECT escrow.capture(%s, -5)$$, :'h7')),
  (format($$SELECT escrow.capture(%s, 100, NULL, NULL)$$, :'h7')),
  ($$SELECT escrow.capture(777777, 100)$$),
  ($$SELECT escrow.release(NULL)$$),
  ($$SELECT escrow.release(777777)$$),
  -- argument refusals: hold
  (format($$SELECT escrow.hold(NULL, %s, 100)$$, :'shop')),
  (format($$SELECT escrow.hold(%s, NULL, 100)$$, :'buyer')),
  (format($$SELECT escrow.hold(%s, %s, NULL)$$, :'buyer', :'shop')),
  (format($$SELECT escrow.hold(%s, %s, 0)$$, :'buyer', :'shop')),
  (format($$SELECT escrow.hold(%s, %s, -100)$$, :'buyer', :'shop')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'buyer', :'buyer')),
  (format($$SELECT escrow.hold(777777, %s, 100)$$, :'shop')),
  (format($$SELECT escrow.hold(%s, 777777, 100)$$, :'buyer')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'buyer', :'euro')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'euro', :'buyer')),
  (format($$SELECT escrow.hold(%s, %s, 100, '0 seconds')$$, :'buyer', :'shop')),
  (format($$SELECT escrow.hold(%s, %s, 100, '-1 hour')$$, :'buyer', :'shop'))) AS t(c);
SELECT available AS buyer_available FROM escrow.balances WHERE account = :buyer \gset
SELECT escrow.hold(:buyer, :shop, :buyer_available + 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.hold(:empty, :buyer, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.release(:h7);

-- Credit-line holds: held counts against the line; capture draws on it.
SELECT escrow.hold(:line, :shop, 4000) AS lh \gset
SELECT owner, posted, held, credit_limit, available FROM escrow.balances WHERE account = :line;
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.hold(%s, %s, 1001)$$, :'line', :'shop')),
  (format($$SELECT escrow.withdraw(%s, 1001)$$, :'line')),
  (format($$SELECT escrow.set_credit_limit(%s, 3999)$$, :'line'))) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.capture(:lh, 2500, final => true) > 0 AS captured;
SELECT owner, posted, held, credit_limit, available FROM escrow.balances WHERE account = :line;
SELECT escrow.set_credit_limit(:line, 3000);

-- A system account may hold without funds; its held amount stays within
-- its bound, 10^16 (docs/reference.md, "Limits").
SELECT escrow.hold_batch(array_fill(:clearing::bigint, ARRAY[10]), array_fill(:shop::bigint, ARRAY[10]),
                         array_fill(1000000000000000::bigint, ARRAY[10])) AS shs \gset
SELECT escrow.hold(:clearing, :shop, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT sum(escrow.release(h)) FROM unnest(:'shs'::bigint[]) h;
-- nor can a capture push the credit account past its bound
SELECT escrow.open_account('ho-big', 'USD') AS big \gset
SELECT count(escrow.transfer(:clearing, :big, 1000000000000000)) AS big_at_max FROM generate_series(1, 10);
SELECT escrow.hold(:clearing, :big, 1) AS bh \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.capture(:bh);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.release(:bh);
SELECT count(escrow.transfer(:big, :clearing, 1000000000000000)) AS big_back_to_zero FROM generate_series(1, 10);

-- Expiry: a hold past its expiry cannot be captured, even before
-- expire_holds() has swept it; it can still be released.  The DETAIL of
-- that refusal names the expiry time, so it is shown with pg_temp.error_of(),
-- which masks the time.
SELECT escrow.hold(:buyer, :shop, 500, '1 millisecond') AS e1 \gset
SELECT escrow.hold(:buyer, :shop, 600, '1 hour') AS e2 \gset
SELECT pg_sleep(0.05);
SELECT hold = :e1 AS is_e1, remaining, expired FROM escrow.open_holds
 WHERE hold IN (:e1, :e2) ORDER BY hold;
SELECT pg_temp.fingerprint() AS before \gset
\set VERBOSITY terse
SELECT escrow.capture(:e1, 100);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.capture(:e1);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT pg_temp.error_of(format('SELECT escrow.capture(%s, 100)', :e1));
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.release(:e1);
SELECT * FROM pg_temp.hold_state(:e1);

-- expire_holds: releases due holds (earliest first, at most max_holds),
-- keeps what was captured, leaves others alone.  (x3 is captured from
-- before its expiry, so it gets a margin against a slow machine.)
BEGIN;
SELECT escrow.hold(:buyer, :shop, 100, '1 millisecond') AS x1 \gset
SELECT escrow.hold(:buyer, :shop, 200, '2 milliseconds') AS x2 \gset
SELECT escrow.hold(:buyer, :shop, 300, '400 milliseconds') AS x3 \gset
SELECT escrow.hold(:line, :shop, 400, '401 milliseconds') AS x4 \gset
SELECT escrow.capture(:x3, 120) > 0 AS captured;
COMMIT;
SELECT pg_sleep(0.5);
SELECT pg_temp.fingerprint() AS before \gset
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.expire_holds(0)$$),
  ($$SELECT escrow.expire_holds(-1)$$),
  ($$SELECT escrow.expire_holds(NULL)$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT sum(held) AS held_before FROM escrow.accounts;
SELECT escrow.expire_holds(2);
SELECT h.n, s.* FROM (VALUES (1, :x1), (2, :x2), (3, :x3), (4, :x4)) h(n, id),
       pg_temp.hold_state(h.id) s ORDER BY h.n;
SELECT escrow.expire_holds();
SELECT escrow.expire_holds();
SELECT h.n, s.* FROM (VALUES (3, :x3), (4, :x4), (5, :e2)) h(n, id),
       pg_temp.hold_state(h.id) s ORDER BY h.n;
SELECT sum(held) AS held_after FROM escrow.accounts;
-- an expired hold is not open any more
SELECT escrow.capture(:x1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.release(:x3);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.release(:e2);

SELECT owner, posted, held, credit_limit, available FROM escrow.balances
 WHERE owner LIKE 'ho-%' ORDER BY owner;
SELECT count(*) AS open_holds FROM escrow.open_holds;
SELECT * FROM escrow.verify_ledger();
