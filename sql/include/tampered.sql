-- sql/include/tampered.sql (included with \i by the regress files that
-- tamper with the ledger as a superuser): pg_temp.tampered(edits...) runs
-- the edits, returns what verify_ledger() then reports, and undoes them
-- (its own exception rolls the subtransaction back: disabled triggers and
-- dropped constraints come back too).
CREATE FUNCTION pg_temp.tampered(VARIADIC edits text[])
RETURNS TABLE (problem text, detail text) LANGUAGE plpgsql AS $$
DECLARE e text; found jsonb;
BEGIN
  BEGIN
    FOREACH e IN ARRAY edits LOOP
      EXECUTE e;
    END LOOP;
    SELECT coalesce(jsonb_agg(jsonb_build_array(v.problem, v.detail) ORDER BY v.problem, v.detail), '[]')
      INTO found FROM escrow.verify_ledger() v;
    RAISE EXCEPTION 'undo the tampering' USING ERRCODE = 'ZT001';
  EXCEPTION WHEN SQLSTATE 'ZT001' THEN
    NULL;
  END;
  RETURN QUERY SELECT f.x->>0, f.x->>1 FROM jsonb_array_elements(found) WITH ORDINALITY AS f(x, n) ORDER BY f.n;
END $$;
