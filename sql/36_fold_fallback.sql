-- 36_fold_fallback: the fold writes its entries straight into the heap of
-- escrow.entries (a multi-insert and its index entries), and through an
-- INSERT statement when that table is not the plain one the extension
-- creates, so that what an administrator added to it applies to the
-- fold's rows too: INSERT triggers of every kind (row and statement,
-- BEFORE and AFTER, with a transition table), CHECK constraints and
-- forced row security.  Each case: a batch of postings (deposit, hold and
-- capture, transfer, refund, withdrawal, a system account's debit) folded
-- first without the addition in a subtransaction that is undone (the
-- direct path), then with it; the entries written are the same to the
-- byte (account, seq, transfer, amount, running balance, hash chain), the
-- triggers saw exactly the folded entries, a CHECK refuses a fold whose
-- row violates it and leaves nothing changed, verify_ledger() reports
-- nothing, and the WAL shows how each fold wrote the entries (pg_walinspect:
-- Heap2 MULTI_INSERT records for the direct path, Heap INSERT ones
-- through SQL).  Everything added is dropped at the end.
\set SHOW_CONTEXT never
\set VERBOSITY terse
\i sql/include/fresh_extension.sql
\i sql/include/error_of.sql
CREATE EXTENSION pg_walinspect;

SELECT escrow.open_account('ff buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('ff shop', 'USD') AS shop \gset
SELECT escrow.open_account('ff fees', 'USD', 'system') > 0 AS opened;

-- what the triggers saw: a row trigger or a transition table one row per
-- entry, a statement trigger without one a row with no entry
CREATE SCHEMA fold_probe;
CREATE TABLE fold_probe.seen (how text NOT NULL, account bigint, seq bigint,
    transfer_id bigint, amount bigint, balance bigint, hash bytea);
CREATE FUNCTION fold_probe.record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    INSERT INTO fold_probe.seen
    SELECT TG_WHEN || ' row', NEW.account, NEW.seq, NEW.transfer_id, NEW.amount, NEW.balance,
           NEW.hash;
    RETURN NEW;
  END IF;
  INSERT INTO fold_probe.seen (how) VALUES (TG_WHEN || ' statement');
  RETURN NULL;
END $$;
CREATE FUNCTION fold_probe.record_new_table() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO fold_probe.seen
  SELECT 'transition table', n.account, n.seq, n.transfer_id, n.amount, n.balance, n.hash
    FROM folded_rows n;
  RETURN NULL;
END $$;

-- the postings of one case: every kind of leg the fold chains
CREATE FUNCTION pg_temp.post_batch() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  buyer bigint := (SELECT id FROM escrow.accounts WHERE owner = 'ff buyer');
  shop bigint := (SELECT id FROM escrow.accounts WHERE owner = 'ff shop');
  fees bigint := (SELECT id FROM escrow.accounts WHERE owner = 'ff fees');
  h bigint;
  t bigint;
BEGIN
  PERFORM escrow.deposit(buyer, 50000);
  h := escrow.hold(buyer, shop, 7000);
  PERFORM escrow.capture(h, 6000, final => true);
  t := escrow.transfer(buyer, shop, 3000);
  PERFORM escrow.refund(t, 1000);
  PERFORM escrow.transfer(fees, shop, 250);
  PERFORM escrow.withdraw(shop, 2000);
END $$;

-- every entry, to the byte, in one digest
CREATE FUNCTION pg_temp.entries_digest() RETURNS text LANGUAGE sql AS $$
  SELECT md5(coalesce(string_agg(format('%s/%s/%s/%s/%s/%s', account, seq, transfer_id, amount,
                                        balance, encode(hash, 'hex')), ';' ORDER BY account, seq), ''))
    FROM escrow.entries $$;

-- how a fold wrote escrow.entries, from its WAL records between two points
CREATE FUNCTION pg_temp.wal_path(wal_from pg_lsn, wal_to pg_lsn) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN multi > 0 AND plain = 0 THEN 'multi-insert'
              WHEN plain > 0 AND multi = 0 THEN 'INSERT'
              ELSE format('%s multi-insert and %s INSERT records', multi, plain) END
    FROM (SELECT count(*) FILTER (WHERE w.resource_manager = 'Heap2'
                                    AND w.record_type LIKE 'MULTI_INSERT%') AS multi,
                 count(*) FILTER (WHERE w.resource_manager = 'Heap'
                                    AND w.record_type LIKE 'INSERT%') AS plain
            FROM pg_get_wal_records_info(wal_from, wal_to) w
           WHERE w.block_ref LIKE format('%%/%s fork main %%', pg_relation_filenode('escrow.entries'))) r $$;

-- where each case's two folds wrote their WAL, read once it is flushed
CREATE TEMPORARY TABLE fold_wal (n serial, name text, undone_from pg_lsn, undone_to pg_lsn,
                                 fold_from pg_lsn, fold_to pg_lsn);
CREATE FUNCTION pg_temp.fold_paths() RETURNS TABLE (name text, undone_fold text, fold text)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT w.name, pg_temp.wal_path(w.undone_from, w.undone_to),
                      pg_temp.wal_path(w.fold_from, w.fold_to)
                 FROM fold_wal w ORDER BY w.n;
  TRUNCATE fold_wal;
END $$;

-- fold as the table is now, in a subtransaction that is undone: the legs
-- folded, the digest of the entries that fold would leave and where its
-- WAL is
CREATE FUNCTION pg_temp.undone_fold(OUT folded bigint, OUT digest text, OUT wal_from pg_lsn,
                                    OUT wal_to pg_lsn) LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    wal_from := pg_current_wal_insert_lsn();
    folded := escrow.fold_journal();
    wal_to := pg_current_wal_insert_lsn();
    digest := pg_temp.entries_digest();
    RAISE EXCEPTION USING ERRCODE = 'XUNDO', MESSAGE = 'undo the fold';
  EXCEPTION WHEN SQLSTATE 'XUNDO' THEN
    RETURN;
  END;
END $$;

-- one case: post a batch; fold it without the addition (the direct path)
-- and undo that (direct: the legs it folded; undone: they all wait
-- again); make the addition (a statement) and fold for real: the same
-- legs folded, the same entries to the byte, which entries the triggers
-- saw (seen: their number; missed, invented: entries folded that no
-- trigger saw, rows they saw that are no folded entry; a statement
-- trigger without a transition table sees no entry: seen counts its
-- firings; with no trigger, none), nothing left waiting, and the problems
-- verify_ledger() reports; then undo the addition when told how (removal).
-- fold_paths() then tells, from the WAL, how each of the two folds wrote
CREATE FUNCTION pg_temp.fold_with(name text, addition text, removal text DEFAULT NULL)
RETURNS TABLE (direct bigint, undone boolean, folded bigint, same_entries boolean, how text,
               seen bigint, missed bigint, invented bigint, waiting bigint, problems bigint)
LANGUAGE plpgsql AS $$
DECLARE
  d record;
  n bigint;
  wal_from pg_lsn;
BEGIN
  PERFORM pg_temp.post_batch();
  n := (SELECT count(*) FROM escrow.unfolded);
  d := pg_temp.undone_fold();
  undone := (SELECT count(*) FROM escrow.unfolded) = n AND d.folded = n;
  IF addition IS NOT NULL THEN
    EXECUTE addition;
  END IF;
  CREATE TEMPORARY TABLE before_fold AS SELECT account, seq FROM escrow.entries;
  TRUNCATE fold_probe.seen;
  wal_from := pg_current_wal_insert_lsn();
  n := escrow.fold_journal();
  INSERT INTO fold_wal (name, undone_from, undone_to, fold_from, fold_to)
  VALUES (fold_with.name, d.wal_from, d.wal_to, wal_from, pg_current_wal_insert_lsn());
  CREATE TEMPORARY TABLE new_entries AS
  SELECT e.* FROM escrow.entries e
   WHERE NOT EXISTS (SELECT 1 FROM before_fold b WHERE b.account = e.account AND b.seq = e.seq);
  RETURN QUERY
  SELECT d.folded, undone, n, pg_temp.entries_digest() = d.digest, h.how,
         (SELECT count(*) FROM fold_probe.seen s WHERE s.how = h.how),
         m.missed, m.invented,
         (SELECT count(*) FROM escrow.unfolded),
         (SELECT count(*) FROM escrow.verify_ledger())
    FROM (SELECT DISTINCT s.how FROM fold_probe.seen s
          UNION SELECT '(no trigger)' WHERE NOT EXISTS (SELECT 1 FROM fold_probe.seen)) h
    -- each entry counted +1 when folded, -1 when a trigger saw it
    LEFT JOIN LATERAL (
         SELECT coalesce(sum(x.c) FILTER (WHERE x.c > 0), 0)::bigint AS missed,
                coalesce(-sum(x.c) FILTER (WHERE x.c < 0), 0)::bigint AS invented
           FROM (SELECT sum(e.c) AS c
                   FROM (SELECT ne.account, ne.seq, ne.transfer_id, ne.amount, ne.balance, ne.hash,
                                1 AS c FROM new_entries ne
                         UNION ALL
                         SELECT s.account, s.seq, s.transfer_id, s.amount, s.balance, s.hash, -1
                           FROM fold_probe.seen s WHERE s.how = h.how) e
                  GROUP BY e.account, e.seq, e.transfer_id, e.amount, e.balance, e.hash) x) m
      ON h.how IN ('BEFORE row', 'AFTER row', 'transition table')
   ORDER BY h.how;
  DROP TABLE before_fold, new_entries;
  IF removal IS NOT NULL THEN
    EXECUTE removal;
  END IF;
END $$;

-- (a) row triggers, BEFORE and AFTER: each sees every folded entry, once;
-- (b) statement triggers, BEFORE and AFTER: each fires once per fold (one
-- INSERT statement), and an AFTER one with a transition table sees every
-- folded entry
SELECT t.name, f.*
  FROM (VALUES ('probe_before_row', 'BEFORE', 'ROW', '', 'record'),
               ('probe_after_row', 'AFTER', 'ROW', '', 'record'),
               ('probe_before_statement', 'BEFORE', 'STATEMENT', '', 'record'),
               ('probe_after_statement', 'AFTER', 'STATEMENT', '', 'record'),
               ('probe_new_table', 'AFTER', 'STATEMENT', 'REFERENCING NEW TABLE AS folded_rows',
                'record_new_table')) t(name, timing, level, referencing, fn)
 CROSS JOIN LATERAL pg_temp.fold_with(t.name,
         format('CREATE TRIGGER %I %s INSERT ON escrow.entries %s FOR EACH %s '
                'EXECUTE FUNCTION fold_probe.%I()', t.name, t.timing, t.referencing, t.level, t.fn),
         format('DROP TRIGGER %I ON escrow.entries', t.name)) f;
SELECT * FROM pg_temp.fold_paths();

-- (c) a CHECK constraint: good rows fold as the direct path folds them
SELECT * FROM pg_temp.fold_with('check', 'ALTER TABLE escrow.entries
    ADD CONSTRAINT probe_no_4242 CHECK (abs(amount) <> 4242)');
SELECT * FROM pg_temp.fold_paths();
-- a leg that violates it: the fold is refused and changes nothing
SELECT escrow.transfer(:buyer, :shop, 4242) > 0 AS planted;
SELECT count(*) AS entries_before, (SELECT count(*) FROM escrow.unfolded) AS waiting_before,
       pg_temp.entries_digest() AS digest_before
  FROM escrow.entries \gset
SELECT split_part(pg_temp.error_of('SELECT escrow.fold_journal()'), ' / ', 1) AS refused;
SELECT count(*) = :entries_before AS same_entries,
       (SELECT count(*) FROM escrow.unfolded) = :waiting_before AS same_waiting,
       pg_temp.entries_digest() = :'digest_before' AS same_digest
  FROM escrow.entries;
-- without it the leg folds
ALTER TABLE escrow.entries DROP CONSTRAINT probe_no_4242;
SELECT escrow.fold_journal() AS folded;
SELECT amount, balance FROM escrow.entries e
 WHERE abs(amount) = 4242 ORDER BY amount;
SELECT * FROM escrow.verify_ledger();

-- (d) forced row security (the fold runs as the extension's owner, a
-- superuser here, whom no policy restricts: the entries are the same)
SELECT * FROM pg_temp.fold_with('forced row security',
    'ALTER TABLE escrow.entries FORCE ROW LEVEL SECURITY',
    'ALTER TABLE escrow.entries NO FORCE ROW LEVEL SECURITY');
SELECT * FROM pg_temp.fold_paths();

-- everything at once (the CHECK NOT VALID: the planted leg's entries are
-- in the table now; it holds for new rows all the same)
SELECT * FROM pg_temp.fold_with('everything', 'CREATE TRIGGER probe_before_row BEFORE INSERT ON escrow.entries
    FOR EACH ROW EXECUTE FUNCTION fold_probe.record();
  CREATE TRIGGER probe_before_statement BEFORE INSERT ON escrow.entries
    FOR EACH STATEMENT EXECUTE FUNCTION fold_probe.record();
  CREATE TRIGGER probe_new_table AFTER INSERT ON escrow.entries
    REFERENCING NEW TABLE AS folded_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fold_probe.record_new_table();
  ALTER TABLE escrow.entries
    ADD CONSTRAINT probe_no_4242 CHECK (abs(amount) <> 4242) NOT VALID');
SELECT * FROM pg_temp.fold_paths();

-- what was added goes; the table is as the extension made it and both
-- folds take the direct path
DROP TRIGGER probe_before_row ON escrow.entries;
DROP TRIGGER probe_before_statement ON escrow.entries;
DROP TRIGGER probe_new_table ON escrow.entries;
ALTER TABLE escrow.entries DROP CONSTRAINT probe_no_4242;
SELECT * FROM pg_temp.fold_with('nothing added', NULL);
SELECT * FROM pg_temp.fold_paths();
DROP SCHEMA fold_probe CASCADE;
DROP EXTENSION pg_walinspect;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'escrow.entries'::regclass ORDER BY tgname;
SELECT conname FROM pg_constraint WHERE conrelid = 'escrow.entries'::regclass ORDER BY conname;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'escrow.entries'::regclass;
SELECT * FROM escrow.verify_ledger();
