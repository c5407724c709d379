-- 33_next_actions: what escrow.deal_progress lists as a deal's next
-- actions (escrow.next_actions()) is exactly what is accepted.  Deals of
-- each settlement model at each stage, served first and not paid, unpaid,
-- invoiced, returned, disputed, and past their stage's deadline: for each,
-- every party step is tried (in a subtransaction, rolled back, by the
-- party that may take it) and the ones accepted must be the ones listed;
-- the system step listed must be the one run_maintenance() takes when the
-- deadline passes.  (pay_invoice and repay are payments on a receivable
-- and are accepted at other stages too: only the invoice that completes an
-- invoiced deal is a step, listed there.)
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/deal_at.sql

SELECT escrow.open_account('na-line', 'USD', 'credit', 1000000) AS line,
       escrow.open_account('na-wallet', 'USD') AS wallet, escrow.open_account('na-shop', 'USD') AS shop,
       escrow.open_account('na-fees', 'USD') AS fees, escrow.open_account('na-bank', 'USD') AS bank,
       escrow.open_account('na-agency', 'USD') AS agency, escrow.open_account('na-till', 'USD') AS till \gset
SELECT escrow.deposit(:wallet, 1000000) > 0, escrow.deposit(:bank, 1000000) > 0,
       escrow.deposit(:agency, 1000000) > 0;
SELECT escrow.register_member('CB', 'Credit buyer', 'cb@test', :line),
       escrow.register_member('DB', 'Deposit buyer', 'db@test', :wallet),
       escrow.register_merchant('S', 'Shop', 's@test', :shop, fee_bps => 250, fee_account => :fees),
       escrow.register_institution('CF', 'Bank', 'cf@test', :bank, discount_bps => 300),
       escrow.register_institution('AG', 'Agency', 'ag@test', :agency);
SELECT escrow.register_terminal('T1', 'Till', :till, ARRAY[1000, 5000]);

-- the deals: a label each
CREATE TEMP TABLE deal (label text PRIMARY KEY, id bigint);
CREATE FUNCTION pg_temp.buyer(settlement text) RETURNS text LANGUAGE sql AS
  $$ SELECT CASE settlement WHEN 'credit_finance' THEN 'CB' ELSE 'DB' END $$;
CREATE FUNCTION pg_temp.inst(settlement text) RETURNS text LANGUAGE sql AS
  $$ SELECT CASE settlement WHEN 'credit_finance' THEN 'CF' WHEN 'agency' THEN 'AG' END $$;
INSERT INTO deal
SELECT m || ' ' || st, pg_temp.deal_at(pg_temp.buyer(m), 'S', 1000, st, m, pg_temp.inst(m))
  FROM unnest(ARRAY['escrow', 'agency', 'credit_finance']) m,
       unnest(ARRAY['order_received', 'identity_confirmed', 'funds_reserved', 'shipped',
                    'delivered', 'settled']) WITH ORDINALITY AS s(st, n)
 ORDER BY m, n;
-- served first (escrow: pay later at a terminal; agency: the agency pays at receipt)
INSERT INTO deal SELECT m || ' served first', pg_temp.deal_at('DB', 'S', 1000, 'identity_confirmed', m, pg_temp.inst(m))
  FROM unnest(ARRAY['escrow', 'agency']) m;
SELECT escrow.serve_first(id, 'S') FROM deal WHERE label LIKE '% served first';
-- returned before and after receipt, disputed
INSERT INTO deal SELECT 'escrow rejected', pg_temp.deal_at('DB', 'S', 1000, 'delivered');
INSERT INTO deal SELECT 'agency returned', pg_temp.deal_at('DB', 'S', 1000, 'settled', 'agency', 'AG');
INSERT INTO deal SELECT 'credit_finance disputed', pg_temp.deal_at('CB', 'S', 1000, 'shipped', 'credit_finance', 'CF');
SELECT escrow.reject_delivery(id, 'broken', 'DB') FROM deal WHERE label = 'escrow rejected';
SELECT escrow.request_return(id, 'not wanted', 'DB') FROM deal WHERE label = 'agency returned';
SELECT escrow.open_dispute(id, 'never came', 'CB') FROM deal WHERE label = 'credit_finance disputed';
-- past the deadline of their stage, not moved by run_maintenance() yet
INSERT INTO deal
SELECT l || ' (deadline passed)', pg_temp.deal_at(pg_temp.buyer(m), 'S', 1000, st, m, pg_temp.inst(m))
  FROM (VALUES ('escrow funds_reserved', 'escrow', 'funds_reserved'), ('escrow shipped', 'escrow', 'shipped'),
               ('escrow delivered', 'escrow', 'delivered'), ('agency settled', 'agency', 'settled'),
               ('credit_finance settled', 'credit_finance', 'settled')) v (l, m, st);
INSERT INTO deal SELECT 'escrow served first (deadline passed)',
                        pg_temp.deal_at('DB', 'S', 1000, 'identity_confirmed');
SELECT escrow.serve_first(id, 'S') FROM deal WHERE label = 'escrow served first (deadline passed)';
INSERT INTO deal SELECT 'escrow returned (deadline passed)', pg_temp.deal_at('DB', 'S', 1000, 'settled');
SELECT escrow.request_return(id, 'not wanted', 'DB') FROM deal WHERE label = 'escrow returned (deadline passed)';
-- unpaid, and invoiced: the deadline taken by run_maintenance()
INSERT INTO deal SELECT 'escrow unpaid', pg_temp.deal_at('DB', 'S', 1000, 'identity_confirmed');
INSERT INTO deal SELECT 'agency invoiced', pg_temp.deal_at('DB', 'S', 1000, 'settled', 'agency', 'AG');
SELECT escrow.serve_first(id, 'S') FROM deal WHERE label = 'escrow unpaid';
UPDATE escrow.deals SET deadline = now() - interval '1 minute'
 WHERE id IN (SELECT id FROM deal WHERE label IN ('escrow unpaid', 'agency invoiced'));
SELECT action, deals FROM escrow.run_maintenance() WHERE deals > 0 ORDER BY action;
-- now the others' deadlines pass
UPDATE escrow.deals SET deadline = now() - interval '1 minute'
 WHERE id IN (SELECT id FROM deal WHERE label LIKE '%(deadline passed)');

-- The SQL of a party step on deal d, by the party that may take it
CREATE FUNCTION pg_temp.call_of(d bigint, action text) RETURNS text LANGUAGE sql AS $$
  SELECT CASE action
    WHEN 'confirm_identity' THEN format('SELECT escrow.confirm_identity(%s, escrow.issue_identity_code(%s))', d, d)
    WHEN 'reserve' THEN format('SELECT escrow.reserve(%s, %L)', d, x.buyer)
    WHEN 'pay_cash' THEN format($q$SELECT * FROM escrow.pay_cash('T1', %s, '{1000}')$q$, d)
    WHEN 'serve_first' THEN format('SELECT escrow.serve_first(%s, %L)', d, x.merchant)
    WHEN 'mark_shipped' THEN format($q$SELECT escrow.mark_shipped(%s, 'c', 't', %L)$q$, d, x.merchant)
    WHEN 'mark_delivered' THEN format('SELECT escrow.mark_delivered(%s, %L)', d, x.merchant)
    WHEN 'confirm_inspection' THEN format('SELECT escrow.confirm_inspection(%s, %L)', d, x.buyer)
    WHEN 'confirm_return' THEN format('SELECT escrow.confirm_return(%s, %L)', d, x.merchant)
    WHEN 'resolve_dispute' THEN format('SELECT escrow.resolve_dispute(%s, %s, 0)', d, x.amount)
    WHEN 'write_off' THEN format($q$SELECT escrow.write_off(%s, 'r', %L)$q$, d, x.merchant)
    ELSE format($q$SELECT escrow.%I(%s, 'r', %L)$q$, action, d, x.buyer) END
    FROM escrow.deals x WHERE x.id = d
$$;
-- 'ok' when the step is accepted, else its SQLSTATE; undone either way
CREATE FUNCTION pg_temp.try(d bigint, action text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE pg_temp.call_of(d, action);
  RAISE EXCEPTION 'undo' USING ERRCODE = 'ZT002';
EXCEPTION WHEN SQLSTATE 'ZT002' THEN RETURN 'ok';
          WHEN OTHERS THEN RETURN SQLSTATE;
END $$;
-- the step run_maintenance() takes once the deal's deadline has passed
-- (none without a deadline); undone
CREATE FUNCTION pg_temp.at_deadline(d bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE last bigint := (SELECT max(id) FROM escrow.deal_events WHERE deal = d); taken text;
BEGIN
  UPDATE escrow.deals SET deadline = now() - interval '1 minute' WHERE id = d AND deadline IS NOT NULL;
  PERFORM escrow.run_maintenance();
  SELECT action INTO taken FROM escrow.deal_events WHERE deal = d AND id > last;
  RAISE EXCEPTION 'undo' USING ERRCODE = 'ZT002';
EXCEPTION WHEN SQLSTATE 'ZT002' THEN RETURN taken;
END $$;

-- Per deal: what is listed and what is accepted
CREATE TEMP TABLE outcome AS
SELECT l.label, p.stage, p.next_actions,
       (SELECT coalesce(string_agg(a, ', ' ORDER BY a), '-')
          FROM regexp_matches(coalesce(p.next_actions, ''), '(\w+) \(([^)]*)\)', 'g') m(x),
               LATERAL (SELECT m.x[1] AS a) y
         WHERE m.x[2] <> 'system' AND m.x[1] <> 'pay_invoice') AS listed,
       (SELECT coalesce(string_agg(t.action, ', ' ORDER BY t.action), '-')
          FROM (SELECT DISTINCT action FROM escrow.deal_transitions()
                 WHERE actors <> 'system' AND action NOT IN ('open_deal', 'pay_invoice')) t
         WHERE pg_temp.try(l.id, t.action) = 'ok') AS accepted,
       coalesce(substring(p.next_actions FROM '(\w+) \(system\)'), '-') AS system_listed,
       coalesce(pg_temp.at_deadline(l.id), '-') AS system_taken
  FROM deal l JOIN escrow.deal_progress p ON p.deal = l.id;

SELECT label, stage, next_actions FROM outcome ORDER BY label;
-- every listed party step is accepted, every other one refused; the
-- system step listed is the one taken at the deadline
SELECT label, listed, accepted, system_listed, system_taken FROM outcome
 WHERE listed <> accepted OR system_listed <> system_taken ORDER BY label;
SELECT count(*) AS deals, bool_and(listed = accepted AND system_listed = system_taken) AS as_listed
  FROM outcome;

-- next_actions() itself: the arguments it is given, and its refusals
\i sql/include/error_of.sql
SELECT escrow.next_actions('delivered', 'escrow', 0, 0, false, false) AS served_first,
       escrow.next_actions('delivered', 'escrow', 1000, 0, false, false) AS paid,
       escrow.next_actions('delivered', 'escrow', 1000, 0, true, false) AS paid_past_window,
       escrow.next_actions('settled', 'agency', 0, 1000, false, true) AS invoice_open,
       escrow.next_actions('completed', 'escrow', 0, 1000, NULL, NULL) AS final;
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.next_actions('paid', 'escrow', 0, 0, false, false)$$),
  ($$SELECT escrow.next_actions('settled', 'cash', 0, 0, false, false)$$),
  ($$SELECT escrow.next_actions(NULL, 'escrow', 0, 0, false, false)$$),
  ($$SELECT escrow.next_actions('settled', 'escrow', NULL, 0, false, false)$$)) AS t(c);
