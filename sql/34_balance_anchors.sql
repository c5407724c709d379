-- 34_balance_anchors: balances as of any time from the anchors that
-- checkpoint() stores.  Each checkpoint cuts every account's legs of the
-- transfers it seals, in transfer order, into anchors of 256 legs (the
-- last one open, in a table of its own, until it is full), each with the
-- balance after its last leg and the times of its legs; balance_at()
-- starts from the anchor before the moment and reads only the legs around
-- it.  Here postings in their own transactions (each its own time) with a
-- checkpoint every 150 rounds, and transfers whose time is out of their
-- id's order (a transaction that started long before it posted, a clock
-- that jumped ahead), sealed and after the last checkpoint: balance_at
-- equals a plain sum over the account's transfers at transfers' times, a
-- microsecond either side and random moments, before the first checkpoint,
-- between checkpoints and after the last, with refunds, for a hot account
-- and ordinary ones; statements chain; verify_ledger() recomputes the
-- anchors and reports an edited, a missing and an invented one; who may
-- read them.
\set SHOW_CONTEXT never
\set VERBOSITY terse
\i sql/include/fresh_extension.sql

SELECT escrow.open_account('an-funds', 'USD', 'system') AS funds \gset
SELECT escrow.open_account('an-hot', 'USD', 'system') AS hot \gset
SELECT escrow.open_account('an-buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('an-shop', 'USD') AS shop \gset
SELECT escrow.deposit(:buyer, 100000000) > 0 AS funded;
CREATE FUNCTION pg_temp.acct(owner text) RETURNS bigint LANGUAGE sql AS $$
  SELECT id FROM escrow.accounts WHERE owner = acct.owner $$;

-- a transfer between two system accounts whose time is given, as a
-- transaction that started at that time would have posted it (its legs
-- wait in escrow.unfolded like any other)
CREATE FUNCTION pg_temp.posted_at(debit bigint, credit bigint, amount bigint, at timestamptz)
    RETURNS bigint LANGUAGE sql AS $$
  WITH t AS (INSERT INTO escrow.transfers (id, kind, debit_account, credit_account, amount, created_at)
             VALUES (nextval('escrow.transfer_id_seq'), 'transfer', debit, credit, amount, at)
             RETURNING id)
  INSERT INTO escrow.unfolded (account, transfer_id, amount, applied)
  SELECT debit, id, -amount, false FROM t UNION ALL SELECT credit, id, amount, false FROM t
  RETURNING transfer_id $$;

-- rounds of postings, each in its own transaction: the hot account takes a
-- credit every round and pays out every fifth; the buyer pays the shop,
-- holds and captures, and some captures are refunded
CREATE TABLE pg_temp.captures (id bigint);
CREATE FUNCTION pg_temp.round(i int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE c bigint;
BEGIN
  PERFORM escrow.transfer(pg_temp.acct('an-funds'), pg_temp.acct('an-hot'), i);
  IF i % 5 = 0 THEN
    PERFORM escrow.transfer(pg_temp.acct('an-hot'), pg_temp.acct('an-funds'), 3 * i);
  END IF;
  IF i % 7 = 0 THEN
    PERFORM escrow.transfer(pg_temp.acct('an-buyer'), pg_temp.acct('an-shop'), 100 + i);
  END IF;
  IF i % 11 = 0 THEN
    c := escrow.capture(escrow.hold(pg_temp.acct('an-buyer'), pg_temp.acct('an-hot'), 500 + i));
    INSERT INTO pg_temp.captures VALUES (c);
  END IF;
  IF i % 13 = 0 THEN
    SELECT id INTO c FROM pg_temp.captures ORDER BY id LIMIT 1;
    DELETE FROM pg_temp.captures WHERE id = c;
    IF c IS NOT NULL THEN
      PERFORM escrow.refund(c, 100);
    END IF;
  END IF;
END $$;

-- before the first checkpoint
DO $$ BEGIN FOR i IN 1 .. 60 LOOP PERFORM pg_temp.round(i); COMMIT; END LOOP; END $$;
SELECT clock_timestamp() AS before_first \gset
SELECT count(*) AS anchors_before_any_checkpoint FROM escrow.balance_anchors;
SELECT escrow.checkpoint() AS first_checkpoint;

-- rounds with a checkpoint every 150; among them transfers posted by
-- transactions that started before the first checkpoint (one when the
-- accounts' first anchors are still open, one when they are full), and
-- one from a clock an hour ahead, all sealed by later checkpoints
DO $$
BEGIN
  FOR i IN 61 .. 700 LOOP
    PERFORM pg_temp.round(i);
    IF i = 200 THEN
      PERFORM pg_temp.posted_at(pg_temp.acct('an-funds'), pg_temp.acct('an-hot'), 77,
                                (SELECT min(created_at) + interval '1 microsecond' FROM escrow.transfers));
    END IF;
    IF i = 600 THEN
      PERFORM pg_temp.posted_at(pg_temp.acct('an-hot'), pg_temp.acct('an-funds'), 66,
                                (SELECT min(created_at) + interval '2 microseconds' FROM escrow.transfers));
    END IF;
    IF i = 420 THEN
      PERFORM pg_temp.posted_at(pg_temp.acct('an-hot'), pg_temp.acct('an-funds'), 55,
                                clock_timestamp() + interval '1 hour');
    END IF;
    COMMIT;
    IF i % 150 = 0 THEN
      PERFORM escrow.checkpoint();
      COMMIT;
    END IF;
  END LOOP;
END $$;
SELECT escrow.checkpoint() AS last_checkpoint;

-- after the last checkpoint: more rounds, and a transfer of a transaction
-- that started before the second checkpoint
DO $$ BEGIN FOR i IN 701 .. 760 LOOP PERFORM pg_temp.round(i); COMMIT; END LOOP; END $$;
SELECT pg_temp.posted_at(:funds, :hot, 33,
                         (SELECT created_at FROM escrow.transfers
                           WHERE id = (SELECT last_transfer FROM escrow.checkpoints WHERE seq = 2))) > 0
       AS posted_late;
SELECT count(*) AS checkpoints, max(last_transfer) < (SELECT max(id) FROM escrow.transfers) AS tail_unsealed
  FROM escrow.checkpoints;

-- the anchors: the hot account's cut into full anchors of 256 legs, in
-- escrow.balance_anchors, and an open last one, in
-- escrow.open_balance_anchors (no partial anchor in the first, no full one
-- in the second), each anchor's balance the sum of the legs up to its last
-- transfer; every account with a sealed leg has them
CREATE TEMP VIEW anchors AS
SELECT b.account, b.seq, b.last_transfer, b.legs, b.balance, false AS open FROM escrow.balance_anchors b
UNION ALL
SELECT o.account, o.seq, o.last_transfer, o.legs, o.balance, true FROM escrow.open_balance_anchors o;
SELECT a.owner, count(*) AS anchors, count(*) FILTER (WHERE b.open) AS open,
       count(*) FILTER (WHERE b.legs <> 256 AND NOT b.open) AS full_not_full,
       count(*) FILTER (WHERE (b.legs >= 256 OR b.seq < m.last) AND b.open) AS open_not_last,
       sum(b.legs) = (SELECT count(*) FROM escrow.transfers t
                       WHERE (t.debit_account = a.id OR t.credit_account = a.id)
                         AND t.id <= (SELECT max(last_transfer) FROM escrow.checkpoints)) AS every_sealed_leg
  FROM anchors b JOIN escrow.accounts a ON a.id = b.account
 CROSS JOIN LATERAL (SELECT max(seq) AS last FROM anchors WHERE account = a.id) m
 WHERE a.owner LIKE 'an-%' GROUP BY a.owner, a.id ORDER BY a.owner;
SELECT count(*) FILTER (WHERE b.balance <> s.sum) AS wrong_balances
  FROM anchors b
 CROSS JOIN LATERAL (SELECT sum(CASE WHEN t.credit_account = b.account THEN t.amount ELSE -t.amount END) AS sum
                       FROM escrow.transfers t
                      WHERE (t.debit_account = b.account OR t.credit_account = b.account)
                        AND t.id <= b.last_transfer) s;

-- balance_at against a plain sum over the account's transfers: at the
-- time of every third transfer (every one before the first checkpoint,
-- after the last, or out of order) and a
-- microsecond either side, at random moments from before the first
-- transfer to after the last, and at the ends of time
SELECT setseed(0.32);
CREATE TEMP TABLE moments AS
SELECT created_at + d * interval '1 microsecond' AS at
  FROM escrow.transfers, (VALUES (-1), (0), (1)) v (d)
 WHERE id % 3 = 0 OR created_at < :'before_first' OR created_at > clock_timestamp()
    OR id > (SELECT max(last_transfer) FROM escrow.checkpoints)
UNION
SELECT lo + random() * (hi - lo)
  FROM (SELECT min(created_at) - interval '1 second' AS lo, max(created_at) + interval '1 second' AS hi
          FROM escrow.transfers) r, generate_series(1, 300)
UNION
SELECT x FROM (VALUES ('-infinity'::timestamptz), ('infinity'), (now()), (:'before_first')) v (x);
SELECT a.owner, count(*) > 1300 AS many_moments,
       count(*) FILTER (WHERE m.at < :'before_first') > 100 AS before_first_checkpoint,
       count(*) FILTER (WHERE escrow.balance_at(a.id, m.at) <>
           (SELECT coalesce(sum(CASE WHEN t.credit_account = a.id THEN t.amount ELSE -t.amount END), 0)
              FROM escrow.transfers t
             WHERE (t.debit_account = a.id OR t.credit_account = a.id) AND t.created_at <= m.at)) AS wrong
  FROM escrow.accounts a CROSS JOIN moments m
 WHERE a.owner LIKE 'an-%'
 GROUP BY a.owner ORDER BY a.owner;
-- now, what escrow.balances says
SELECT b.owner, escrow.balance_at(b.account, 'infinity') = b.posted AS balance_now
  FROM escrow.balances b WHERE b.owner LIKE 'an-%' ORDER BY b.owner;

-- statements of random periods chain from balance_at to balance_at
SELECT count(*) AS periods,
       count(*) FILTER (WHERE escrow.balance_at(:hot, p.f)
                              + coalesce((SELECT sum(s.amount) FROM escrow.statement(:hot, p.f, p.t) s), 0)
                              <> escrow.balance_at(:hot, p.t)
                           OR (SELECT s.balance FROM escrow.statement(:hot, p.f, p.t) s
                                ORDER BY s.created_at DESC, s.transfer DESC LIMIT 1)
                              <> escrow.balance_at(:hot, p.t)) AS broken
  FROM (SELECT least(x, y) AS f, greatest(x, y) AS t
          FROM (SELECT m.at AS x, lead(m.at, 7) OVER (ORDER BY random()) AS y FROM moments m) q
         WHERE y IS NOT NULL LIMIT 100) p;

-- verify_ledger() recomputes the anchors from the sealed journal
SELECT * FROM escrow.verify_ledger();
BEGIN;
UPDATE escrow.balance_anchors SET balance = balance + 1 WHERE account = :hot AND seq = 2;
UPDATE escrow.open_balance_anchors SET from_at = from_at + interval '1 second' WHERE account = :shop;
DELETE FROM escrow.open_balance_anchors WHERE account = :buyer;
INSERT INTO escrow.balance_anchors (account, seq, last_transfer, legs, balance, first_at, last_at, upto_at, from_at)
SELECT account, seq + 1, last_transfer, 1, balance, last_at, last_at, upto_at, last_at
  FROM escrow.open_balance_anchors WHERE account = :funds;
-- the hot account's open anchor replaced by a copy of its first, full one
INSERT INTO escrow.open_balance_anchors
SELECT * FROM escrow.balance_anchors WHERE account = :hot AND seq = 1
ON CONFLICT (account) DO UPDATE SET seq = excluded.seq, last_transfer = excluded.last_transfer,
   legs = excluded.legs, balance = excluded.balance, first_at = excluded.first_at,
   last_at = excluded.last_at, upto_at = excluded.upto_at, from_at = excluded.from_at;
SELECT * FROM escrow.verify_ledger() ORDER BY 1, 2;
ROLLBACK;

-- the anchors are the administrator's and the auditor's to read, written
-- by checkpoint() alone
SET ROLE escrow_auditor;
SELECT count(*) > 0 AS auditor_reads FROM escrow.balance_anchors;
SELECT count(*) > 0 AS auditor_reads_open FROM escrow.open_balance_anchors;
RESET ROLE;
SET ROLE escrow_app;
SELECT count(*) FROM escrow.balance_anchors;
SELECT count(*) FROM escrow.open_balance_anchors;
RESET ROLE;
SET ROLE escrow_admin;
SELECT count(*) > 0 AS admin_reads FROM escrow.balance_anchors;
SELECT count(*) > 0 AS admin_reads_open FROM escrow.open_balance_anchors;
UPDATE escrow.balance_anchors SET balance = 0;
UPDATE escrow.open_balance_anchors SET balance = 0;
RESET ROLE;

-- both kinds in one relation, escrow.all_balance_anchors, are internal
-- (checkpoint(), balance_at() and verify_ledger() read it): no role may
-- read it
SELECT r AS role, has_table_privilege(r, 'escrow.all_balance_anchors', 'SELECT') AS reads
  FROM unnest(ARRAY['public', 'escrow_app', 'escrow_admin', 'escrow_auditor', 'escrow_party']) r;
SET ROLE escrow_auditor;
SELECT count(*) FROM escrow.all_balance_anchors;
RESET ROLE;
