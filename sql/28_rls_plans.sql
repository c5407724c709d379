-- 28_rls_plans: the row-level security policies evaluate
-- escrow.current_party() once per query (an InitPlan), not once per row,
-- and a party's query on tables big enough uses the party indexes instead
-- of a full scan.  Checked on the plans (EXPLAIN without ANALYZE), so a
-- regression shows without timing anything; bench/rls.sh has the figures.
\set SHOW_CONTEXT never
\set party_roles 'plan_buyer, plan_shop'
\i sql/include/fresh_extension.sql
\i sql/include/party_roles.sql

-- 200 members and 200 merchants; 20,000 deals with an event, a payment
-- source and a receivable each, written straight into the tables
SELECT count(escrow.register_member('M-' || i, 'Member', 'm@plan.test',
                                    escrow.open_account('member ' || i, 'USD'),
                                    CASE WHEN i = 1 THEN 'plan_buyer' END))
  FROM generate_series(1, 200) i;
SELECT count(escrow.register_merchant('S-' || i, 'Shop', 's@plan.test',
                                      escrow.open_account('shop ' || i, 'USD'),
                                      login_role => CASE WHEN i = 1 THEN 'plan_shop' END))
  FROM generate_series(1, 200) i;
INSERT INTO escrow.deals (id, txn_no, buyer, merchant, amount, currency, payment_method,
                          debit_account, credit_account, fee_bps, stage, ship_within,
                          inspection_window, cooling_off, deliver_within, refund_within,
                          pay_within)
SELECT i, 'T' || i, b.party_no, m.party_no, 1000, 'USD', 'balance', b.account,
       m.settlement_account, 0, 'order_received', '7 days', '3 days', '8 days',
       '14 days', '14 days', '7 days'
  FROM generate_series(1, 20000) i
  JOIN escrow.parties b ON b.party_no = 'M-' || (1 + i % 200)
  JOIN escrow.parties m ON m.party_no = 'S-' || (1 + (i * 7) % 200);
INSERT INTO escrow.deal_events (deal, action, to_stage, actor, parties)
SELECT id, 'open_deal', 'order_received', buyer, ARRAY[buyer, merchant] FROM escrow.deals;
INSERT INTO escrow.receivables (deal, kind, debtor, creditor, pay_to, amount, due_at)
SELECT id, 'invoice', buyer, merchant, credit_account, amount, now() + interval '30 days'
  FROM escrow.deals;
INSERT INTO escrow.deal_sources (deal, account, position, amount)
SELECT id, debit_account, 1, amount FROM escrow.deals;
ANALYZE escrow.deals, escrow.deal_events, escrow.deal_sources, escrow.receivables, escrow.parties;

-- what a plan does: current_party() in an InitPlan, or in a per-row
-- condition (EXPLAIN names the function only where a node evaluates it per
-- row: an InitPlan's Result shows no expression); the indexes it uses; a
-- full scan of a table with row-level security
CREATE FUNCTION pg_temp.plan_of(q text,
    OUT initplan boolean, OUT per_row_call boolean, OUT indexes text, OUT full_scan text,
    OUT sorts integer)
LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
    initplan := jsonb_path_exists(j, 'strict $.** ? (@."Parent Relationship" == "InitPlan")');
    per_row_call := EXISTS (SELECT 1 FROM jsonb_path_query(j, 'strict $.**') v
                             WHERE jsonb_typeof(v) = 'string' AND v #>> '{}' LIKE '%current_party%');
    indexes := (SELECT string_agg(DISTINCT v #>> '{}', ', ' ORDER BY v #>> '{}')
                  FROM jsonb_path_query(j, 'strict $.**."Index Name"') v);
    full_scan := (SELECT string_agg(DISTINCT v #>> '{}', ', ' ORDER BY v #>> '{}')
                    FROM jsonb_path_query(j, 'strict $.** ? (@."Node Type" == "Seq Scan")."Relation Name"') v
                   WHERE v #>> '{}' IN ('deals', 'deal_events', 'deal_sources', 'receivables'));
    -- the most rows a Sort node expects: a "latest N" that sorts every
    -- deal shows here
    sorts := (SELECT max((v ->> 'Plan Rows')::numeric)::integer
                FROM jsonb_path_query(j, 'strict $.** ? (@."Node Type" == "Sort")') v);
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.plan_of(text) TO PUBLIC;

CREATE TEMP TABLE queries (n int, q text);
INSERT INTO queries VALUES
    (1, 'SELECT count(*) FROM escrow.deals'),
    (2, 'SELECT id, txn_no, stage FROM escrow.deals ORDER BY id DESC LIMIT 10'),
    (3, 'SELECT count(*) FROM escrow.deal_progress'),
    (4, 'SELECT * FROM escrow.stage_funnel'),
    (5, 'SELECT count(*) FROM escrow.receivables'),
    (6, 'SELECT * FROM escrow.receivables_due'),
    (7, 'SELECT count(*) FROM escrow.deal_events'),
    (9, 'SELECT count(*) FROM escrow.deal_sources'),
    (8, 'SELECT * FROM escrow.merchant_payouts'),
    (10, 'SELECT * FROM escrow.deal_progress ORDER BY deal DESC LIMIT 20'),
    (11, 'SELECT * FROM escrow.deal_progress WHERE txn_no = ''T200'''),
    (12, 'SELECT * FROM escrow.deal_events WHERE deal = 200'),
    (13, 'SELECT * FROM escrow.deal_sources WHERE deal = 200');
GRANT SELECT ON queries TO PUBLIC;

SET ROLE plan_buyer;
SELECT escrow.current_party();
SELECT n, q, p.* FROM queries, pg_temp.plan_of(q) p ORDER BY n;
SELECT count(*) AS own_deals FROM escrow.deal_progress;
RESET ROLE;
SET ROLE plan_shop;
SELECT escrow.current_party();
SELECT n, q, p.* FROM queries, pg_temp.plan_of(q) p ORDER BY n;
SELECT count(*) AS own_deals FROM escrow.deal_progress;
RESET ROLE;
-- the application reads every deal: its "latest 20" walks deals_pkey
-- backwards (no Sort of all deals)
SET ROLE escrow_app;
SELECT n, q, p.* FROM queries, pg_temp.plan_of(q) p WHERE n IN (10, 11) ORDER BY n;
RESET ROLE;
SELECT count(*) FILTER (WHERE 'M-1' IN (buyer, merchant)) AS m1_deals,
       count(*) FILTER (WHERE 'S-1' IN (buyer, merchant)) AS s1_deals
  FROM escrow.deals;

DROP EXTENSION escrowpay CASCADE;
DROP ROLE plan_buyer;
DROP ROLE plan_shop;
