-- escrow.distribute() on a single server: no Citus, so it refuses with
-- 0A000 and changes nothing; only escrow_admin may call it.  (On a Citus
-- coordinator test/citus/sql/cross_node.sql runs it.)
\i sql/include/fresh_extension.sql
\set SHOW_CONTEXT never

SELECT escrow.open_account('dist a', 'EUR') AS a \gset
SELECT escrow.deposit(:a, 100) AS dep \gset
SELECT count(*) AS accounts_before FROM escrow.accounts \gset

SELECT * FROM escrow.distribute();
\echo :LAST_ERROR_SQLSTATE

-- nothing changed: the tables are the extension's own, the funding index kept
SELECT count(*) = :accounts_before AS unchanged FROM escrow.accounts;
SELECT count(*) AS funding_index FROM pg_indexes
 WHERE schemaname = 'escrow' AND indexname = 'accounts_funding_per_currency';
SELECT * FROM escrow.verify_ledger();

-- the layout lists every table of the extension
SELECT c.relname FROM pg_class c
  JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'escrowpay'
 WHERE c.relkind = 'r'
   AND c.oid::regclass::text NOT IN (SELECT tbl FROM escrow.distribution());
SELECT how, count(*) FROM escrow.distribution() GROUP BY how ORDER BY how;

-- privileges: escrow_admin only
SELECT r AS role, has_function_privilege(r, 'escrow.distribute()', 'EXECUTE') AS distribute,
       has_function_privilege(r, 'escrow.distribution()', 'EXECUTE') AS distribution
  FROM unnest(ARRAY['escrow_admin', 'escrow_app', 'escrow_auditor', 'escrow_party', 'public']) r;
SET ROLE escrow_app;
SELECT * FROM escrow.distribute();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE escrow_admin;
SELECT * FROM escrow.distribute();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
