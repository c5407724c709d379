-- test/citus/include/two_workers.sql (included with \i by the files of
-- test/citus/sql, which pg_regress runs from the top of the tree; not a
-- test itself: scripts/test.sh runs only test/citus/sql/*.sql):
-- pg_temp.node(account), the port of the worker holding an account's row
-- and journal (on the coordinator's metadata), and two accounts on
-- different workers, :a (the lower id) and :b.  It opens accounts
-- <prefix>-1 to <prefix>-8 in <currency> (psql variables set before the
-- \i) and takes the first and the first on another worker (the last line
-- says whether they are on different workers).
CREATE FUNCTION pg_temp.node(account bigint) RETURNS int LANGUAGE sql AS $$
  SELECT p.nodeport FROM pg_dist_shard_placement p
   WHERE p.shardid = get_shard_id_for_distribution_column('escrow.accounts', account)
$$;
SELECT count(escrow.open_account(:'prefix' || '-' || i, :'currency')) FROM generate_series(1, 8) i;
CREATE TEMP TABLE two_workers AS
  SELECT id FROM escrow.accounts WHERE owner LIKE :'prefix' || '-_';
SELECT min(id) AS a FROM two_workers \gset
SELECT min(id) AS b FROM two_workers WHERE pg_temp.node(id) <> pg_temp.node(:a) \gset
SELECT pg_temp.node(:a) <> pg_temp.node(:b) AS different_workers, :a < :b AS a_first;
