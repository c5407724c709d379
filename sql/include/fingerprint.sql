-- sql/include/fingerprint.sql (included with \i by the regress files,
-- which pg_regress runs from the top of the tree):
-- pg_temp.fingerprint(), the state of every table of schema escrow as one
-- md5 (with sequences => true, of its sequences too).  The tables are read
-- from the catalog, so a new table is covered without editing any test.
-- A refused call must leave it unchanged:
--   SELECT pg_temp.fingerprint() AS before \gset
--   ... the refused call ...
--   SELECT pg_temp.fingerprint() = :'before' AS unchanged;
CREATE FUNCTION pg_temp.fingerprint(sequences boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v text;
  state text := '';
BEGIN
  FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
            WHERE c.relnamespace = 'escrow'::regnamespace
              AND (c.relkind IN ('r', 'p') OR (sequences AND c.relkind = 'S'))
              AND NOT c.relispartition
            ORDER BY c.relname LOOP
    IF r.relkind = 'S' THEN
      EXECUTE format('SELECT last_value || '':'' || is_called FROM %s', r.rel) INTO v;
    ELSE
      EXECUTE format('SELECT count(*) || '':'' || coalesce(string_agg(t::text, '';'' ORDER BY t::text), '''') FROM %s t',
                     r.rel) INTO v;
    END IF;
    state := state || r.rel || '=' || v || '|';
  END LOOP;
  RETURN md5(state);
END $$;
