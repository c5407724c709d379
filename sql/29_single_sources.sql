-- 29_single_sources: what the SQL side repeats of the C tables is checked
-- against them, so that a drift fails here.  The settlement models
-- (src/model.c, named by open_deal's hint) against the CHECKs on
-- escrow.deals (settlement, institution); the system steps of the transition table
-- (src/lifecycle.c, through escrow.deal_transitions()) against the
-- partial index of due deals; the stages against the stage columns of
-- escrow.deal_progress.  (The diagram is checked in 10_deal_lifecycle.)
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- The models of the C table, in its order, as open_deal's hint lists them
CREATE FUNCTION pg_temp.models_of_table() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  hint text;
BEGIN
  PERFORM escrow.open_deal('ss-buyer', 'ss-merchant', 1, settlement => 'no such model');
  RETURN NULL;
EXCEPTION WHEN invalid_parameter_value THEN
  GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
  RETURN regexp_split_to_array(substring(hint FROM '^Use (.*)\.$'), ', | or ');
END $$;
-- The CHECK on escrow.deals lists no model of its own: it asks the C table
SELECT pg_get_constraintdef(c.oid) AS settlement_check
  FROM pg_constraint c
 WHERE c.conrelid = 'escrow.deals'::regclass AND c.contype = 'c'
   AND pg_get_constraintdef(c.oid) LIKE '%settlement%';
-- and the table it asks is the one open_deal names: every model there, with
-- an institution exactly when open_deal asks for one, and nothing else
CREATE FUNCTION pg_temp.needs_institution(model text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  msg text;
BEGIN
  PERFORM escrow.open_deal('ss-buyer', 'ss-merchant', 1, settlement => model);
  RETURN false;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
  RETURN msg = format('settlement %s needs an institution', model);
END $$;
SELECT count(*) >= 3 AS models_listed,
       bool_and(escrow.settlement_fits(m, NULL) = NOT pg_temp.needs_institution(m)
                AND escrow.settlement_fits(m, 'ss-bank') = pg_temp.needs_institution(m))
         AS check_fits_each_model,
       bool_or(pg_temp.needs_institution(m)) AND bool_or(NOT pg_temp.needs_institution(m))
         AS both_kinds_seen
  FROM unnest(pg_temp.models_of_table()) m;
SELECT escrow.settlement_fits('no such model', NULL) AS unknown_fits,
       escrow.settlement_fits('no such model', 'ss-bank') AS unknown_fits_with,
       escrow.settlement_fits(NULL, NULL) AS null_fits;
-- verify_ledger() asks the same table which receivable a settled deal has
SELECT escrow.settlement_receivable('escrow') AS escrow_has, escrow.settlement_receivable('agency') AS agency_has,
       escrow.settlement_receivable('credit_finance') AS credit_finance_has,
       escrow.settlement_receivable('no such model') AS unknown_has;
-- and it holds against a row written past open_deal (as a superuser)
SELECT escrow.open_account('ss-buyer-acct', 'USD') AS buyer \gset
SELECT escrow.open_account('ss-shop-acct', 'USD') AS shop \gset
SELECT escrow.register_member('ss-buyer', 'Buyer', 'b@example.test', :buyer) IS NOT NULL AS member;
SELECT escrow.register_merchant('ss-merchant', 'Shop', 's@example.test', :shop) IS NOT NULL AS merchant;
SELECT escrow.open_deal('ss-buyer', 'ss-merchant', 100) AS d \gset
\set VERBOSITY sqlstate
UPDATE escrow.deals SET settlement = 'no such model' WHERE id = :d;
UPDATE escrow.deals SET institution = 'ss-merchant' WHERE id = :d;
UPDATE escrow.deals SET settlement = 'agency' WHERE id = :d;
\set VERBOSITY default
SELECT settlement, institution FROM escrow.deals WHERE id = :d;

-- The stages whose deadline run_maintenance() enforces are the stages its
-- system steps leave (the C side checks its deadline table against these
-- steps, both ways); the partial index deals_due must list exactly them
SELECT (SELECT array_agg(m[1] ORDER BY m[1])
          FROM regexp_matches(pg_get_expr(i.indpred, i.indrelid), '''([a-z_]+)''', 'g') m)
     = (SELECT array_agg(DISTINCT from_stage ORDER BY from_stage)
          FROM escrow.deal_transitions() WHERE actors = 'system') AS due_index_matches
  FROM pg_index i WHERE i.indexrelid = 'escrow.deals_due'::regclass;

-- escrow.deal_progress: each STAGE_at column is the first event reaching
-- that stage, a stage of the table; ended_at covers exactly the final
-- stages other than completed
CREATE TEMP VIEW stages AS
  SELECT from_stage AS stage FROM escrow.deal_transitions()
  UNION SELECT to_stage FROM escrow.deal_transitions();
CREATE TEMP VIEW final_stages AS
  SELECT s.stage FROM stages s
   WHERE NOT EXISTS (SELECT 1 FROM escrow.deal_transitions() t WHERE t.from_stage = s.stage);
SELECT m[2] AS view_column, m[1] AS filters_on, m[1] = m[2] AS same_stage,
       m[1] IN (SELECT stage FROM stages) AS a_stage
  FROM regexp_matches(pg_get_viewdef('escrow.deal_progress'::regclass),
                      'to_stage = ''([a-z_]+)''::text\)\) AS ([a-z_]+)_at', 'g') m;
SELECT (SELECT array_agg(m[1] ORDER BY m[1])
          FROM regexp_matches(substring(pg_get_viewdef('escrow.deal_progress'::regclass)
                                        FROM 'to_stage = ANY \(ARRAY\[[^]]*\]\)\)\) AS ended_at'),
                              '''([a-z_]+)''', 'g') m)
     = (SELECT array_agg(stage ORDER BY stage) FROM final_stages WHERE stage <> 'completed')
       AS ended_at_covers_final_stages,
       'completed' IN (SELECT stage FROM final_stages) AS completed_is_final;
