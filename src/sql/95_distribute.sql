-- 95_distribute.sql: spreading escrowpay over a Citus cluster
-- (docs/scale-out.md).  On a Citus coordinator, escrow.distribute() turns
-- the tables of the extension into Citus tables as escrow.distribution()
-- lists them: the account-keyed tables hash-distributed by account and
-- co-located (an account's row, journal and ownership on one worker), the
-- tables keyed by their own ids hash-distributed by that id, and the small
-- shared tables as reference tables (a copy on every node).  Everything
-- about the layout is in that list; distribute() only applies it.

-- The layout: one row per table of the extension, in the order in which
-- distribute() converts them (reference tables first, then each
-- distributed table after the one it is co-located with).  how is
-- 'reference' or 'distributed'; column is the distribution column;
-- colocate_with the table whose shards it shares (NULL: its own group).
CREATE FUNCTION escrow.distribution()
    RETURNS TABLE (tbl text, how text, col text, colocate_with text)
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$
    VALUES
        -- small, read by every node
        ('escrow.currencies',             'local',       NULL,          NULL),
        -- the ledger: an account and its journal on one worker; transfers,
        -- their owners and holds by their ids (looked up and locked by them)
        ('escrow.accounts',               'distributed', 'id',          NULL),
        ('escrow.entries',                'distributed', 'account',     'escrow.accounts'),
        ('escrow.transfers',              'distributed', 'id',          'escrow.accounts'),
        ('escrow.transfer_owners',        'distributed', 'transfer_id', 'escrow.transfers'),
        ('escrow.holds',                  'distributed', 'id',          'escrow.accounts'),
        -- Citus 13.2 prunes a distribution column of a domain type
        -- (escrow.text_short) to no shard at all: the keys stay on the
        -- coordinator, which every call passes through anyway
        ('escrow.idempotency_keys',       'local',       NULL,          NULL),
        -- parties, deals and what hangs on them stay PostgreSQL tables on
        -- the coordinator: their row-level security policies use
        -- subqueries, which Citus does not support in policies
        ('escrow.parties',                'local',       NULL,          NULL),
        ('escrow.deals',                  'local',       NULL,          NULL),
        ('escrow.deal_events',            'local',       NULL,          NULL),
        ('escrow.deal_sources',           'local',       NULL,          NULL),
        ('escrow.receivables',            'local',       NULL,          NULL),
        ('escrow.account_owners',         'local',       NULL,          NULL),
        ('escrow.account_authorisations', 'local',       NULL,          NULL),
        ('escrow.terminals',              'local',       NULL,          NULL),
        ('escrow.terminal_cash',          'local',       NULL,          NULL),
        ('escrow.settlement_links',       'local',       NULL,          NULL),
        ('escrow.settlement_batches',     'local',       NULL,          NULL),
        ('escrow.settlement_lines',       'local',       NULL,          NULL),
        -- the maintenance worker's bookkeeping, on the coordinator it runs on
        ('escrow.maintenance_runs',       'local',       NULL,          NULL),
        -- signed checkpoints of the journal, made on the coordinator
        ('escrow.checkpoints',            'local',       NULL,          NULL),
        ('escrow.checkpoint_chunks',      'local',       NULL,          NULL),
        -- balance anchors: written by checkpoint() on the coordinator, a
        -- few rows per 256 legs, read by balance_at() there without a trip
        -- to a worker
        ('escrow.balance_anchors',        'local',       NULL,          NULL),
        ('escrow.open_balance_anchors',   'local',       NULL,          NULL),
        -- journal legs not yet folded into their account's entries
        ('escrow.unfolded',               'distributed', 'account',     'escrow.accounts')
    $$;
COMMENT ON FUNCTION escrow.distribution() IS
    'How escrow.distribute() lays the tables out on a Citus cluster: reference or distributed, by which column, co-located with which table';

-- escrow.distribute(): apply escrow.distribution() on a Citus coordinator.
-- Before converting, it drops what Citus cannot carry over and reports it:
-- foreign keys between the tables it converts (converting a table that a
-- local table references would make Citus rebuild that table, which an
-- extension's table with an extension-owned identity sequence cannot be),
-- then re-creates those Citus enforces (to a reference table, or between
-- co-located tables on their distribution columns); unique indexes of a
-- distributed table that lack its distribution column (a primary key
-- becomes one led by the distribution column; another such index is
-- dropped: the functions serialise what it guarded, see
-- docs/scale-out.md).  The journal's append-only triggers are kept on
-- every shard (citus.enable_unsafe_triggers for the conversion: they only
-- look at the row they guard).  A table already converted is reported as
-- such, so calling it again changes nothing.
CREATE FUNCTION escrow.distribute()
    RETURNS TABLE ("table" text, how text, "column" text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- its report says what it did; Citus's notices (copying data, ...) would only repeat it
    SET client_min_messages = warning
    AS $$
DECLARE
    t record;
    fk record;
    ix record;
    kept boolean;
    todo regclass[];
    fks jsonb := '[]';
    ddl text[] := '{}';
    cmd text;
    reader text;
    granted text[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'escrow.distribute() needs Citus'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The citus extension is not installed in database ' ||
                           pg_catalog.quote_ident(pg_catalog.current_database()) ||
                           ': escrowpay runs on this server alone.',
                  HINT = 'On a Citus coordinator: CREATE EXTENSION citus, add the workers '
                         '(citus_add_node), CREATE EXTENSION escrowpay, then call escrow.distribute().';
    END IF;
    IF NOT (SELECT c FROM citus_is_coordinator() c) THEN
        RAISE EXCEPTION 'escrow.distribute() must run on the Citus coordinator'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'This node is not the coordinator of its Citus cluster.',
                  HINT = 'Connect to the coordinator (citus_set_coordinator_host names it).';
    END IF;
    -- every table of the extension must have a place in the layout
    FOR t IN
        SELECT c.oid::regclass::text AS tbl
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e'
           AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'escrowpay')
           AND c.relkind IN ('r', 'p')
           AND c.oid::regclass::text NOT IN (SELECT l.tbl FROM escrow.distribution() l)
    LOOP
        RAISE EXCEPTION 'table % has no place in escrow.distribution()', t.tbl
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Every table of escrowpay must be a reference or a distributed table on Citus.',
                  HINT = 'Add it to escrow.distribution() (src/sql/95_distribute.sql).';
    END LOOP;

    SELECT pg_catalog.array_agg(l.tbl::regclass) INTO todo
      FROM escrow.distribution() l
     WHERE l.how <> 'local'
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                        WHERE p.logicalrelid = l.tbl::regclass);
    todo := coalesce(todo, '{}');

    -- one connection per worker for the DDL that follows (the reference
    -- tables' foreign keys forbid parallel DDL in this transaction)
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);

    -- foreign keys touching a table still to convert: dropped, re-created
    -- below where Citus enforces them
    FOR fk IN
        SELECT c.conrelid::regclass AS rel, c.conname, c.confrelid::regclass AS ref,
               pg_catalog.pg_get_constraintdef(c.oid) AS def, c.conkey, c.confkey
          FROM pg_catalog.pg_constraint c
         WHERE c.contype = 'f' AND (c.conrelid = ANY (todo) OR c.confrelid = ANY (todo))
         ORDER BY 1, 2
    LOOP
        ddl := ddl || pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I',
                                        fk.rel, fk.conname);
        fks := fks || pg_catalog.jsonb_build_object('rel', fk.rel, 'conname', fk.conname,
                                                    'def', fk.def, 'ref', fk.ref,
                                                    'conkey', fk.conkey, 'confkey', fk.confkey);
    END LOOP;

    -- unique indexes of a table to distribute that lack its distribution column
    FOR ix IN
        SELECT l.tbl, l.col, i.indexrelid::regclass AS idx, i.indisprimary AS pk, con.conname,
               (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.n)
                  FROM pg_catalog.unnest(i.indkey) WITH ORDINALITY k (attnum, n)
                  JOIN pg_catalog.pg_attribute a
                    ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols
          FROM escrow.distribution() l
          JOIN pg_catalog.pg_index i ON i.indrelid = l.tbl::regclass AND i.indisunique
          LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid
                                                AND con.conrelid = i.indrelid
         WHERE l.how = 'distributed' AND l.tbl::regclass = ANY (todo)
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = i.indrelid AND a.attname = l.col
                              AND a.attnum = ANY (i.indkey))
         ORDER BY 1, 3
    LOOP
        IF ix.conname IS NOT NULL THEN
            ddl := ddl || pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I',
                                            ix.tbl, ix.conname);
        ELSE
            ddl := ddl || pg_catalog.format('DROP INDEX IF EXISTS %s', ix.idx);
        END IF;
        "table" := ix.tbl;
        IF ix.pk THEN
            ddl := ddl || pg_catalog.format('ALTER TABLE %s ADD PRIMARY KEY (%I, %s)',
                                            ix.tbl, ix.col, ix.cols);
            how := pg_catalog.format('primary key (%s) now (%I, %s)', ix.cols, ix.col, ix.cols);
            "column" := ix.col;
        ELSE
            how := pg_catalog.format('unique index %s dropped', ix.idx);
            "column" := ix.cols;
        END IF;
        RETURN NEXT;
    END LOOP;

    FOREACH cmd IN ARRAY ddl LOOP
        EXECUTE cmd;
    END LOOP;

    FOR t IN SELECT l.* FROM escrow.distribution() l WHERE l.how <> 'local' LOOP
        "table" := t.tbl; "column" := t.col;
        IF NOT t.tbl::regclass = ANY (todo) THEN
            how := 'already ' || t.how;
        ELSIF t.how = 'reference' THEN
            PERFORM create_reference_table(t.tbl);
            how := t.how;
        ELSE
            PERFORM create_distributed_table(t.tbl, t.col,
                                             colocate_with => coalesce(t.colocate_with, 'none'));
            how := t.how;
        END IF;
        RETURN NEXT;
    END LOOP;

    -- the workers' copies of the converted tables (made by CREATE
    -- EXTENSION, and now the shells of Citus tables) still have what was
    -- dropped on the coordinator: the same statements again, which Citus
    -- now carries to them (a unique index dropped stays on the shells,
    -- which hold no rows)
    FOREACH cmd IN ARRAY ddl LOOP
        IF cmd LIKE 'ALTER TABLE % DROP %' AND pg_catalog.split_part(cmd, ' ', 3)::regclass IN
               (SELECT p.logicalrelid FROM pg_catalog.pg_dist_partition p) THEN
            EXECUTE cmd;
        END IF;
    END LOOP;

    -- the views join tables that are not co-located (a journal entry and
    -- its transfer, a hold and its account): Citus plans such joins by
    -- repartitioning, once allowed, in the sessions that start from now on
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s
                       WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database
                                               WHERE datname = pg_catalog.current_database())
                         AND s.setrole = 0
                         AND 'citus.enable_repartition_joins=on' = ANY (s.setconfig)) THEN
        EXECUTE pg_catalog.format('ALTER DATABASE %I SET citus.enable_repartition_joins = on',
                                  pg_catalog.current_database());
        PERFORM pg_catalog.set_config('citus.enable_repartition_joins', 'on', false);
        "table" := NULL; "column" := NULL;
        how := pg_catalog.format('database %I: citus.enable_repartition_joins = on',
                                 pg_catalog.current_database());
        RETURN NEXT;
    END IF;

    -- re-create the foreign keys Citus enforces: to a reference table, or
    -- between co-located tables on their distribution columns
    FOR fk IN
        SELECT f.rel, f.conname, f.def, f.conkey, f.confkey, f.ref,
               p.partmethod AS ref_method, p.colocationid AS ref_group,
               (SELECT a.attnum FROM pg_catalog.pg_attribute a
                 WHERE p.partmethod = 'h' AND a.attrelid = f.ref
                   AND a.attname = column_to_column_name(f.ref, p.partkey)) AS ref_col,
               q.partmethod AS rel_method, q.colocationid AS rel_group,
               (SELECT a.attnum FROM pg_catalog.pg_attribute a
                 WHERE q.partmethod = 'h' AND a.attrelid = f.rel
                   AND a.attname = column_to_column_name(f.rel, q.partkey)) AS rel_col
          FROM pg_catalog.jsonb_to_recordset(fks)
               AS f (rel regclass, conname name, def text, ref regclass,
                     conkey smallint[], confkey smallint[])
          LEFT JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = f.ref
          LEFT JOIN pg_catalog.pg_dist_partition q ON q.logicalrelid = f.rel
    LOOP
        -- a local table (no pg_dist_partition row) keeps none
        kept := coalesce(fk.rel_method IS NOT NULL AND fk.ref_method = 'n' OR
                         (fk.rel_method = 'h' AND fk.ref_method = 'h'
                          AND fk.rel_group = fk.ref_group
                          AND fk.conkey = ARRAY[fk.rel_col] AND fk.confkey = ARRAY[fk.ref_col]),
                         false);
        IF kept THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s',
                                      fk.rel, fk.conname, fk.def);
        ELSE
            "table" := fk.rel::text; "column" := NULL;
            how := pg_catalog.format('foreign key %s dropped (%s)', fk.conname, fk.def);
            RETURN NEXT;
        END IF;
    END LOOP;

    -- Citus runs the shard queries of a view as the role reading it, so the
    -- roles that read the ledger's views need SELECT on the distributed
    -- tables under them (escrow_party reads none: its views are over
    -- coordinator tables with row-level security)
    FOR t IN SELECT l.* FROM escrow.distribution() l WHERE l.how = 'distributed' LOOP
        granted := '{}';
        FOREACH reader IN ARRAY ARRAY['escrow_admin', 'escrow_app', 'escrow_auditor'] LOOP
            IF NOT pg_catalog.has_table_privilege(reader, t.tbl, 'SELECT') THEN
                EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %I', t.tbl, reader);
                granted := granted || reader;
            END IF;
        END LOOP;
        IF granted <> '{}' THEN
            "table" := t.tbl; "column" := NULL;
            how := 'SELECT granted to ' || pg_catalog.array_to_string(granted, ', ');
            RETURN NEXT;
        END IF;
    END LOOP;
    RETURN;
END
$$;
COMMENT ON FUNCTION escrow.distribute() IS
    'On a Citus coordinator: make the tables of escrowpay reference or distributed tables as escrow.distribution() lists them, reporting each step (refused with 0A000 where Citus is absent); calling it again changes nothing';

REVOKE ALL ON FUNCTION escrow.distribution(), escrow.distribute() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION escrow.distribute() TO escrow_admin;
