-- test/pgtap/include/begin.sql (included with \ir at the top of each pgTAP
-- file, before its plan()): stop at the first error, no notices, one
-- transaction that the file rolls back (roles it creates too), and
--   pg_temp.refusal(q): 'ok' when q runs, else 'SQLSTATE: errdetail';
--   pg_temp.sqlstate_of(q): 'ok' when q runs, else its SQLSTATE.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
BEGIN;

CREATE FUNCTION pg_temp.refusal(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  st text;
  det text;
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, det = PG_EXCEPTION_DETAIL;
  RETURN st || ': ' || coalesce(det, '(no detail)');
END $f$;
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE sql AS $f$
  SELECT split_part(pg_temp.refusal(q), ':', 1)
$f$;
