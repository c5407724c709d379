-- sql/include/error_of.sql (included with \i by the regress files):
-- pg_temp.error_of(sql), the SQLSTATE, message (a timestamp ending it
-- masked), detail (a timestamp before a ';' masked) and hint of the error
-- a statement raises, or 'no error'.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hint text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                          hint = PG_EXCEPTION_HINT;
  RETURN format('%s: %s%s%s', st, regexp_replace(msg, 'at [0-9-]+ [0-9:.+-]+$', 'at <time>'),
                ' / ' || nullif(regexp_replace(det, 'at [0-9-]+ [0-9:.+-]+;', 'at <time>;'), ''),
                ' / hint: ' || nullif(hint, ''));
END $$;
