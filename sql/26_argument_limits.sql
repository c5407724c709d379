-- Every text and array argument of every public function has a limit
-- (escrow.limits(), docs/reference.md "Limits"): one byte or element over
-- it is refused with 22023 before the function does anything, so nothing
-- changes, not even a sequence; at the limit the argument is not refused
-- for its length.  The calls are generated from pg_proc (schema escrow,
-- functions some escrowpay role may execute), so a new function is
-- covered without editing this test.
\i sql/include/fresh_extension.sql
\set SHOW_CONTEXT never

-- some rows, so that a call that got past its checks would change them
SELECT escrow.open_account('al buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('al shop', 'USD') AS shop \gset
SELECT escrow.open_account('al till', 'USD') AS till \gset
SELECT escrow.deposit(:buyer, 100000) > 0 AS deposited;
SELECT escrow.register_member('x', 'Buyer', 'b@example.com', :buyer),
       escrow.register_merchant('y', 'Shop', 's@example.com', :shop);
SELECT escrow.open_deal('x', 'y', 1000) AS deal \gset
SELECT escrow.register_terminal('x', 'Till', :till, ARRAY[100, 500]);

-- a fingerprint of every table and sequence of schema escrow
\i sql/include/fingerprint.sql

-- the argument's sample value: short and valid-looking, or (over) the limit
CREATE FUNCTION pg_temp.sample(type oid, size int) RETURNS text LANGUAGE sql AS $$
    SELECT CASE
        WHEN size IS NOT NULL AND type = 'text'::regtype
            THEN quote_literal(repeat('x', size))
        WHEN size IS NOT NULL AND type = 'bytea'::regtype
            THEN quote_literal(repeat('x', size)) || '::bytea'
        WHEN size IS NOT NULL
            THEN format('array_fill(1, ARRAY[%s])::%s', size, type::regtype)
        WHEN type = 'text'::regtype THEN '''x'''
        WHEN type IN ('bigint'::regtype, 'integer'::regtype) THEN '1'
        WHEN type = 'interval'::regtype THEN '''1 day''::interval'
        WHEN type = 'timestamptz'::regtype THEN 'now()'
        WHEN type = 'boolean'::regtype THEN 'false'
        WHEN type IN ('bigint[]'::regtype, 'integer[]'::regtype) THEN format('''{1}''::%s', type::regtype)
        ELSE format('NULL::%s', type::regtype) END
$$;

-- every text, bytea and array argument of every public function
CREATE TEMP TABLE args AS
SELECT p.oid AS fn, p.proname::text AS function, a.n, a.name AS argument, a.type,
       p.proargtypes::oid[] AS types,
       (SELECT l.maximum FROM escrow.limits() l
         WHERE l.argument = a.name AND l.kind IN ('text', 'array')
           AND (l.function = p.proname OR l.function IS NULL)
         ORDER BY l.function NULLS LAST LIMIT 1) AS maximum
  FROM pg_proc p
 CROSS JOIN LATERAL unnest(p.proargtypes::oid[], p.proargnames[1:p.pronargs])
       WITH ORDINALITY AS a(type, name, n)
 WHERE p.pronamespace = 'escrow'::regnamespace
   AND (a.type IN ('text'::regtype, 'bytea'::regtype)
        OR (SELECT t.typcategory FROM pg_type t WHERE t.oid = a.type) = 'A')
   AND EXISTS (SELECT 1 FROM unnest(ARRAY['escrow_admin', 'escrow_app', 'escrow_auditor', 'escrow_party']) r
                WHERE has_function_privilege(r, p.oid, 'EXECUTE'));

-- the call of function fn with argument n of the given size, the others short
CREATE FUNCTION pg_temp.call(function text, types oid[], n int, size int) RETURNS text
LANGUAGE sql AS $$
    SELECT format('SELECT escrow.%I(%s)', function,
                  string_agg(pg_temp.sample(t, CASE WHEN i = n THEN size END), ', ' ORDER BY i))
      FROM unnest(types) WITH ORDINALITY u(t, i)
$$;

CREATE TEMP TABLE results (function text, n int, argument text, maximum bigint,
                           over_limit text, at_limit text);
DO $$
DECLARE
    r record;
    before text;
    state text;
    msg text;
    detail text;
    over text;
    at text;
BEGIN
    FOR r IN SELECT * FROM args ORDER BY function, n LOOP
        -- one over the limit: refused, and nothing changed
        before := pg_temp.fingerprint(sequences => true);
        BEGIN
            EXECUTE pg_temp.call(r.function, r.types, r.n::int, coalesce(r.maximum, 100000)::int + 1);
            over := 'NOT REFUSED';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                    detail = PG_EXCEPTION_DETAIL;
            over := state || ': ' || msg || ' ' || detail;
        END;
        IF pg_temp.fingerprint(sequences => true) <> before THEN
            over := over || ' AND SOMETHING CHANGED';
        END IF;
        -- at the limit: whatever happens, not refused for the length
        BEGIN
            EXECUTE pg_temp.call(r.function, r.types, r.n::int, r.maximum::int);
            RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
            at := CASE WHEN msg LIKE '% is too long' OR msg LIKE '% has too many elements'
                       THEN 'REFUSED: ' || msg ELSE 'not refused for its length' END;
        END;
        INSERT INTO results VALUES (r.function, r.n, r.argument, r.maximum, over, at);
    END LOOP;
END $$;

SELECT function, argument, maximum, over_limit FROM results ORDER BY function, n;
SELECT at_limit, count(*) FROM results GROUP BY 1;
SELECT count(*) AS functions_with_limited_arguments FROM (SELECT DISTINCT function FROM results) f;

-- a value far over the limit is refused as quickly (no detoasting, no work)
SELECT escrow.mark_shipped(:deal, repeat('x', 50000000), repeat('y', 50000000), 'y');
SELECT escrow.hold_batch(array_fill(1::bigint, ARRAY[5000000]), ARRAY[1::bigint], ARRAY[1::bigint]);

-- the stored text has a backstop in the tables too
INSERT INTO escrow.deal_events (deal, action, to_stage, actor) VALUES (:deal, 'x', 'x', repeat('x', 201));
UPDATE escrow.deals SET carrier = repeat('x', 201) WHERE id = :deal;
UPDATE escrow.parties SET contact = repeat('x', 1001) WHERE party_no = 'x';
UPDATE escrow.terminals SET terminal_no = repeat('x', 65);
