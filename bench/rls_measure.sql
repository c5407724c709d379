-- bench/rls_measure.sql -- times the same reads as a party (row-level
-- security), as the application over the same deals (an explicit WHERE),
-- and as the application over every deal; median Execution Time of 5
-- EXPLAIN ANALYZE runs each, after one warm-up.  See bench/rls.sh.
\set ON_ERROR_STOP on
CREATE FUNCTION pg_temp.ms(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t numeric[] := '{}';
    j json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO j;
    FOR i IN 1..5 LOOP
        EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO j;
        t := t || (j -> 0 ->> 'Execution Time')::numeric;
    END LOOP;
    RETURN round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(t) x)::numeric, 3);
END $$;
-- party_sql is read as the party, and as the application over all deals;
-- app_sql is the application's read of the party's deals
CREATE TEMP TABLE reads (n int, party text, login text, what text, party_sql text, app_sql text,
                         party_ms numeric, app_ms numeric, all_ms numeric);
GRANT ALL ON reads TO PUBLIC;
INSERT INTO reads (n, party, login, what, party_sql, app_sql) VALUES
 (1, 'M-1', 'bench_buyer', 'count(*) FROM deal_progress',
  'SELECT count(*) FROM escrow.deal_progress',
  'SELECT count(*) FROM escrow.deal_progress WHERE ''M-1'' IN (buyer, merchant)'),
 (2, 'M-1', 'bench_buyer', 'latest 20 rows of deal_progress',
  'SELECT * FROM escrow.deal_progress ORDER BY deal DESC LIMIT 20',
  'SELECT * FROM escrow.deal_progress WHERE ''M-1'' IN (buyer, merchant) ORDER BY deal DESC LIMIT 20'),
 (3, 'M-1', 'bench_buyer', 'count(*) FROM deal_events',
  'SELECT count(*) FROM escrow.deal_events',
  'SELECT count(*) FROM escrow.deal_events e JOIN escrow.deals d ON d.id = e.deal WHERE ''M-1'' IN (d.buyer, d.merchant)'),
 (4, 'M-1', 'bench_buyer', 'stage_funnel',
  'SELECT * FROM escrow.stage_funnel',
  'SELECT stage, count(*), sum(amount) FROM escrow.deals WHERE ''M-1'' IN (buyer, merchant) GROUP BY stage, currency'),
 (5, 'S-1', 'bench_shop', 'count(*) FROM deal_progress',
  'SELECT count(*) FROM escrow.deal_progress',
  'SELECT count(*) FROM escrow.deal_progress WHERE ''S-1'' IN (buyer, merchant)'),
 (6, 'S-1', 'bench_shop', 'one deal by transaction number',
  'SELECT * FROM escrow.deal_progress WHERE txn_no = ''TXN''',
  'SELECT * FROM escrow.deal_progress WHERE txn_no = ''TXN'' AND ''S-1'' IN (buyer, merchant)');
-- the transaction number of one of S-1's deals
UPDATE reads SET party_sql = replace(party_sql, 'TXN', t), app_sql = replace(app_sql, 'TXN', t)
  FROM (SELECT min(txn_no) AS t FROM escrow.deals WHERE merchant = 'S-1') d;

SET ROLE bench_buyer;
UPDATE reads SET party_ms = pg_temp.ms(party_sql) WHERE login = 'bench_buyer';
RESET ROLE;
SET ROLE bench_shop;
UPDATE reads SET party_ms = pg_temp.ms(party_sql) WHERE login = 'bench_shop';
RESET ROLE;
SET ROLE bench_app;
UPDATE reads SET app_ms = pg_temp.ms(app_sql), all_ms = pg_temp.ms(party_sql);
RESET ROLE;

\pset footer off
SELECT (SELECT count(*) FROM escrow.deals) AS deals,
       (SELECT count(*) FROM escrow.deals WHERE 'M-1' IN (buyer, merchant)) AS deals_of_m1,
       (SELECT count(*) FROM escrow.deals WHERE 'S-1' IN (buyer, merchant)) AS deals_of_s1;
SELECT party, what, party_ms AS "party ms", app_ms AS "app, same deals ms",
       all_ms AS "app, all deals ms",
       round(party_ms / nullif(app_ms, 0), 2) AS "party / app same",
       round(party_ms / nullif(all_ms, 0), 3) AS "party / app all"
  FROM reads ORDER BY n;
