-- isolation_setup.sql: run once by scripts/test.sh (kind citus) in the
-- distributed database where the isolation specs of test/citus/specs then
-- run against the coordinator, one permutation after the other.
--
-- Citus cannot drop a distributed escrowpay, so a permutation cannot start
-- from a fresh extension as the one-server specs do: each one's setup
-- opens fresh accounts (and parties, holds, deals) through the API and
-- names them in public.ids; the steps and checks find them by name, and
-- print names and amounts, never ids, so the output does not depend on
-- what earlier permutations left.  Helpers read the distributed tables one
-- row per statement with the id as a literal, which Citus routes to one
-- shard.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- A session whose statement waits for a row lock on a worker's shard
-- waits, on the coordinator, for the worker's answer: PostgreSQL's
-- pg_isolation_test_session_is_blocked() does not count that as waiting,
-- and isolationtester would wait for the step to finish.  Citus's own
-- check, which also reads its distributed wait graph, takes that name in
-- this database (only here: it is a test database).
SELECT citus_internal.replace_isolation_tester_func();

-- The objects of the permutation running now: name -> id, and its run
-- number (for idempotency keys and party numbers, unique per permutation)
CREATE SEQUENCE public.runs;
CREATE TABLE public.ids (name text PRIMARY KEY, kind text NOT NULL, id bigint NOT NULL);

-- fresh(): forget the previous permutation's objects, start a new run
CREATE FUNCTION public.fresh() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.ids;
  INSERT INTO public.ids VALUES ('run', 'run', nextval('public.runs'));
END $$;

-- keep(name, kind, id): remember an object of this run under a name
CREATE FUNCTION public.keep(n text, k text, v bigint) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO public.ids VALUES (n, k, v) RETURNING id
$$;

-- id(name): the id of this run's object name (an error if there is none)
CREATE FUNCTION public.id(n text) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  r bigint;
BEGIN
  SELECT i.id INTO STRICT r FROM public.ids i WHERE i.name = n;
  RETURN r;
END $$;

-- tag(prefix): prefix and the run number (idempotency keys, party numbers)
CREATE FUNCTION public.tag(prefix text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT prefix || '-' || public.id('run')
$$;

-- node(account): the port of the worker holding the account's shard
CREATE FUNCTION public.node(account bigint) RETURNS int LANGUAGE sql STABLE AS $$
  SELECT p.nodeport FROM pg_dist_shard_placement p
   WHERE p.shardid = get_shard_id_for_distribution_column('escrow.accounts', account)
$$;

-- open(name, currency[, apart_from]): a new account named name; with
-- apart_from, accounts are opened until one lives on another worker than
-- apart_from's (the others are left unused)
CREATE FUNCTION public.open(n text, currency text, apart_from text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  a bigint;
  tries int := 0;
BEGIN
  LOOP
    a := escrow.open_account(public.tag('iso-' || n), currency);
    EXIT WHEN apart_from IS NULL OR public.node(a) <> public.node(public.id(apart_from));
    tries := tries + 1;
    IF tries > 50 THEN
      RAISE EXCEPTION 'no account of % on another worker than %', n, apart_from;
    END IF;
  END LOOP;
  PERFORM public.keep(n, 'account', a);
END $$;

-- try(sql): the statement's one value; an error keeps its SQLSTATE and is
-- raised with the SQLSTATE in front of its message and every number in it
-- as N (messages name account, hold and deal ids)
CREATE FUNCTION public.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  EXECUTE q INTO r;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  RAISE EXCEPTION USING ERRCODE = SQLSTATE,
    MESSAGE = SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]+', 'N', 'g');
END $$;

-- lock(name): lock the account's row (FOR UPDATE) until the transaction ends
CREATE FUNCTION public.lock(n text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('SELECT 1 FROM escrow.accounts WHERE id = %s FOR UPDATE', public.id(n));
  RETURN n || ' locked';
END $$;

-- listing(kind, query): for each object of this run of that kind, by
-- name, the rows of query (a format() string: %1$L the name, %2$s the id)
CREATE FUNCTION public.listing(k text, q text) RETURNS SETOF record
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT i.name, i.id FROM public.ids i WHERE i.kind = k ORDER BY i.name LOOP
    RETURN QUERY EXECUTE format(q, r.name, r.id);
  END LOOP;
END $$;

-- balances(): this run's accounts
CREATE FUNCTION public.balances()
RETURNS TABLE (account text, posted bigint, held bigint, available bigint)
LANGUAGE sql AS $$
  SELECT * FROM public.listing('account',
    'SELECT %1$L::text, b.posted, b.held, b.available FROM escrow.balances b WHERE b.account = %2$s')
    AS l (account text, posted bigint, held bigint, available bigint)
$$;

-- unfolded(): per account of this run, its legs waiting to be folded
CREATE FUNCTION public.unfolded() RETURNS TABLE (account text, unfolded bigint)
LANGUAGE sql AS $$
  SELECT * FROM public.listing('account',
    'SELECT %1$L::text, count(*) FROM escrow.unfolded u WHERE u.account = %2$s')
    AS l (account text, unfolded bigint)
$$;

-- holds(): this run's holds
CREATE FUNCTION public.holds()
RETURNS TABLE (hold text, status text, amount bigint, captured bigint, released bigint)
LANGUAGE sql AS $$
  SELECT * FROM public.listing('hold',
    'SELECT %1$L::text, h.status::text, h.amount::bigint, h.captured::bigint, h.released::bigint '
    '  FROM escrow.holds h WHERE h.id = %2$s')
    AS l (hold text, status text, amount bigint, captured bigint, released bigint)
$$;

-- transfers(): how many transfers were made since this run's mark 'last'
-- (the last transfer of the setup), by kind
CREATE FUNCTION public.transfers() RETURNS TABLE (kind text, transfers bigint)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('SELECT t.kind::text, count(*) FROM escrow.transfers t '
                              ' WHERE t.id > %s GROUP BY 1 ORDER BY 1', public.id('last'));
END $$;
