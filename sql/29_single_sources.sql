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
-- The values a CHECK constraint of escrow.deals lists for a column
CREATE FUNCTION pg_temp.check_list(col text) RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(m[1] ORDER BY n)
    FROM pg_constraint c,
         regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''::text', 'g') WITH ORDINALITY AS x(m, n)
   WHERE c.conrelid = 'escrow.deals'::regclass AND c.contype = 'c'
     AND pg_get_constraintdef(c.oid) LIKE 'CHECK ((' || col || ' = ANY %'
$$;

SELECT pg_temp.models_of_table() = pg_temp.check_list('settlement') AS settlement_check_matches_models;
-- the models paid without an institution (open_deal refuses none of them
-- for naming no institution) are those the CHECK on institution names
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
SELECT (SELECT array_agg(m ORDER BY m) FROM unnest(pg_temp.models_of_table()) m
         WHERE NOT pg_temp.needs_institution(m))
     = (SELECT array_agg(x[1] ORDER BY x[1])
          FROM pg_constraint c,
               regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''::text', 'g') x
         WHERE c.conrelid = 'escrow.deals'::regclass AND c.contype = 'c'
           AND pg_get_constraintdef(c.oid) LIKE '%institution IS NULL%')
       AS institution_check_matches_models;

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
