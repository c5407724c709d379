-- bench/balance_history_measure.sql: mean milliseconds per call of
-- balance_at and statement, for random accounts and moments and for the
-- hot merchant, beside a plain sum over the account's transfers up to the
-- moment (what the indexes and the balance anchors replace; left out with
-- -v plain=0).  Each query runs 200 calls (20 for the plain sums of the
-- hot merchant) after a warm-up pass over the same ones.
\set ON_ERROR_STOP 1
CREATE TEMPORARY TABLE probes AS
SELECT i, 2 + (i * 7777) % 10000 AS account,
       timestamptz '2026-01-01 00:00:00+00' + ((i * 37) % 365) * interval '1 day'
         + ((i * 13) % 86400) * interval '1 second' AS at
  FROM generate_series(1, 200) i;

CREATE FUNCTION pg_temp.ms(q text, n int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; i int;
BEGIN
  FOR i IN 1 .. n LOOP EXECUTE q USING i; END LOOP;          -- warm-up
  t0 := clock_timestamp();
  FOR i IN 1 .. n LOOP EXECUTE q USING i; END LOOP;
  RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1000 / n, 3);
END $$;

-- the plain sums (-v plain=0 leaves them out: they do not change)
CREATE TEMPORARY TABLE plain (call text, ms numeric);
\if :plain
INSERT INTO plain
SELECT 'plain sum, random account',
       pg_temp.ms('SELECT sum(CASE WHEN t.credit_account = p.account THEN t.amount ELSE -t.amount END)
                     FROM probes p, escrow.transfers t
                    WHERE p.i = $1 AND (t.credit_account = p.account OR t.debit_account = p.account)
                      AND t.created_at <= p.at', 200)
UNION ALL
SELECT 'plain sum, hot merchant',
       pg_temp.ms('SELECT sum(CASE WHEN t.credit_account = 10002 THEN t.amount ELSE -t.amount END)
                     FROM probes p, escrow.transfers t
                    WHERE p.i = $1 AND (t.credit_account = 10002 OR t.debit_account = 10002)
                      AND t.created_at <= p.at', 20);
\endif

SELECT 'balance_at, random account (~2,000 transfers)' AS call,
       pg_temp.ms('SELECT escrow.balance_at(account, at) FROM probes WHERE i = $1', 200) AS ms
UNION ALL
SELECT 'balance_at, hot merchant (1,000,000 credits)',
       pg_temp.ms('SELECT escrow.balance_at(10002, at) FROM probes WHERE i = $1', 200)
UNION ALL
SELECT * FROM plain
UNION ALL
SELECT 'statement, random account, one day',
       pg_temp.ms('SELECT count(*) FROM probes p, escrow.statement(p.account, p.at, p.at + interval ''1 day'') WHERE p.i = $1', 200)
UNION ALL
SELECT 'statement, random account, one month',
       pg_temp.ms('SELECT count(*) FROM probes p, escrow.statement(p.account, p.at, p.at + interval ''1 month'') WHERE p.i = $1', 200)
UNION ALL
SELECT 'statement, hot merchant, one hour (~115 lines)',
       pg_temp.ms('SELECT count(*) FROM probes p, escrow.statement(10002, p.at, p.at + interval ''1 hour'') WHERE p.i = $1', 200);

-- the figures are right: balance_at equals the plain sum for every probe
SELECT count(*) FILTER (WHERE escrow.balance_at(p.account, p.at) <> s.sum) AS wrong_random,
       count(*) FILTER (WHERE escrow.balance_at(10002, p.at) <> h.sum) AS wrong_hot
  FROM probes p
 CROSS JOIN LATERAL (SELECT coalesce(sum(CASE WHEN t.credit_account = p.account THEN t.amount ELSE -t.amount END), 0) AS sum
                       FROM escrow.transfers t
                      WHERE (t.credit_account = p.account OR t.debit_account = p.account)
                        AND t.created_at <= p.at) s
 CROSS JOIN LATERAL (SELECT coalesce(sum(CASE WHEN t.credit_account = 10002 THEN t.amount ELSE -t.amount END), 0) AS sum
                       FROM escrow.transfers t
                      WHERE (t.credit_account = 10002 OR t.debit_account = 10002)
                        AND t.created_at <= p.at) h
 WHERE p.i <= 20;
