-- 89_operations.sql: what operators watch -- the background worker's runs
-- (maintenance.c).

CREATE TABLE escrow.maintenance_runs (
    task           text PRIMARY KEY,
    last_start     timestamptz NOT NULL,
    last_end       timestamptz NOT NULL,
    last_success   timestamptz,
    last_processed bigint,
    last_error     text,
    runs           bigint NOT NULL DEFAULT 0,
    failures       bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE escrow.maintenance_runs IS
    'One row per task of the background worker: when its last run started and ended, its last success and how many rows that handled, the error of the last run if it failed (NULL after a success), runs and failures counted';

GRANT SELECT ON escrow.maintenance_runs TO escrow_admin, escrow_auditor;

-- Retention (retention.c): idempotency keys and deal events older than
-- escrowpay.idempotency_retention / escrowpay.event_retention.  These
-- indexes let it find them without reading the tables.
CREATE INDEX idempotency_keys_created ON escrow.idempotency_keys (created_at);
CREATE INDEX deal_events_at ON escrow.deal_events (at);

CREATE FUNCTION escrow.apply_retention(max_rows integer DEFAULT 10000)
    RETURNS TABLE (purged text, deleted integer)
    AS 'MODULE_PATHNAME', 'escrow_apply_retention'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.apply_retention(integer) IS
    'Delete up to max_rows idempotency keys older than escrowpay.idempotency_retention and up to max_rows events of deals ended longer than escrowpay.event_retention ago (0: kept forever); one row each with how many went';

GRANT EXECUTE ON FUNCTION escrow.apply_retention(integer) TO escrow_admin;
