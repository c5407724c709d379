-- test/pgtap/include/attacker.sql (included with \ir by the pgTAP files
-- that put a hostile schema on the search_path): schema attacker, open to
-- every role; attacker.calls, where each of its shadows logs its call;
-- and the first shadows, of now() and clock_timestamp() (the year 2000).
-- The file adds the tables, functions and operators it shadows.
CREATE SCHEMA attacker;
CREATE TABLE attacker.calls (what text);
GRANT USAGE ON SCHEMA attacker TO PUBLIC;
GRANT INSERT, SELECT ON attacker.calls TO PUBLIC;
CREATE FUNCTION attacker.now() RETURNS timestamptz LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('now()'); SELECT timestamptz '2000-01-01' $$;
CREATE FUNCTION attacker.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS
  $$ INSERT INTO attacker.calls VALUES ('clock_timestamp()'); SELECT timestamptz '2000-01-01' $$;
