-- 89_operations.sql: what operators run and watch -- the background
-- worker's record of its runs (maintenance.c), retention (retention.c) and
-- the metrics view (docs/monitoring.md).

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

-- escrow.metrics: one row per (metric, labels) for monitoring, shaped for
-- postgres_exporter (docs/monitoring.md).  Reads the tables as their owner
-- (no row-level security: only aggregates come out), so it is granted to
-- the platform's operators, escrow_admin and escrow_auditor, not to
-- escrow_app or escrow_party.  Every stage and receivable kind has its
-- row, 0 when nothing is in it: each is listed once with 0 and the counts
-- are summed in, without an outer join, because a filter on metric
-- becomes a constant condition in each branch, which Citus 13.2 on
-- PostgreSQL 15 refuses beside an outer join once the query also reads
-- distributed tables (docs/scale-out.md).
CREATE VIEW escrow.metrics AS
WITH settings AS (
    SELECT coalesce(max(setting::integer) FILTER (WHERE name = 'escrowpay.maintenance_interval'), 0)
               AS maintenance_interval,
           coalesce(max(setting::integer) FILTER (WHERE name = 'escrowpay.idempotency_retention'), 0)
               AS idempotency_retention
      FROM pg_catalog.pg_settings
     WHERE name IN ('escrowpay.maintenance_interval', 'escrowpay.idempotency_retention')
), open_holds AS (
    SELECT a.currency, h.amount - h.captured - h.released AS remaining, h.expires_at
      FROM escrow.holds h
      JOIN escrow.accounts a ON a.id = h.debit_account
     WHERE h.status = 'open'
), stages AS (
    SELECT t.from_stage AS stage FROM escrow.deal_transitions() t WHERE t.from_stage <> 'start'
    UNION SELECT t.to_stage FROM escrow.deal_transitions() t
), overdue AS (
    SELECT r.kind, d.currency, r.amount - r.paid AS outstanding
      FROM escrow.receivables r
      JOIN escrow.deals d ON d.id = r.deal
     WHERE r.status = 'open' AND r.due_at < pg_catalog.clock_timestamp()
)
SELECT 'escrowpay_holds_open'::text AS metric,
       pg_catalog.jsonb_build_object('currency', currency) AS labels,
       count(*)::numeric AS value
  FROM open_holds GROUP BY currency
UNION ALL
SELECT 'escrowpay_holds_open_amount', pg_catalog.jsonb_build_object('currency', currency),
       sum(remaining)
  FROM open_holds GROUP BY currency
UNION ALL
SELECT 'escrowpay_holds_expiring_1h', pg_catalog.jsonb_build_object('currency', currency),
       count(*)
  FROM open_holds
 WHERE expires_at > pg_catalog.clock_timestamp()
   AND expires_at <= pg_catalog.clock_timestamp() + interval '1 hour'
 GROUP BY currency
UNION ALL
SELECT 'escrowpay_holds_expired', pg_catalog.jsonb_build_object('currency', currency),
       count(*)
  FROM open_holds
 WHERE expires_at <= pg_catalog.clock_timestamp()
 GROUP BY currency
UNION ALL
SELECT 'escrowpay_deals_in_stage', pg_catalog.jsonb_build_object('stage', c.stage), sum(c.n)
  FROM (SELECT s.stage, 0::bigint FROM stages s
        UNION ALL
        SELECT d.stage, count(*) FROM escrow.deals d
         WHERE d.stage IN (SELECT s.stage FROM stages s) GROUP BY d.stage) c (stage, n)
 GROUP BY c.stage
UNION ALL
SELECT 'escrowpay_deals_due', pg_catalog.jsonb_build_object('stage', c.stage), sum(c.n)
  FROM (SELECT s.stage, 0::bigint
          FROM (VALUES ('funds_reserved'), ('shipped'), ('delivered'), ('settled'), ('returned')) s (stage)
        UNION ALL
        SELECT d.stage, count(*) FROM escrow.deals d
         WHERE d.deadline <= pg_catalog.clock_timestamp()
           AND d.stage IN ('funds_reserved', 'shipped', 'delivered', 'settled', 'returned')
         GROUP BY d.stage) c (stage, n)
 GROUP BY c.stage
UNION ALL
SELECT 'escrowpay_receivables_overdue', pg_catalog.jsonb_build_object('kind', c.kind), sum(c.n)
  FROM (SELECT k.kind, 0::bigint FROM (VALUES ('invoice'), ('loan')) k (kind)
        UNION ALL
        SELECT o.kind, count(*) FROM overdue o GROUP BY o.kind) c (kind, n)
 GROUP BY c.kind
UNION ALL
SELECT 'escrowpay_receivables_overdue_amount',
       pg_catalog.jsonb_build_object('kind', kind, 'currency', currency), sum(outstanding)
  FROM overdue GROUP BY kind, currency
UNION ALL
SELECT 'escrowpay_maintenance_interval_seconds', '{}'::jsonb, maintenance_interval
  FROM settings
UNION ALL
SELECT 'escrowpay_maintenance_seconds_since_success', pg_catalog.jsonb_build_object('task', task),
       round(extract(epoch FROM pg_catalog.clock_timestamp() - last_success), 3)
  FROM escrow.maintenance_runs WHERE last_success IS NOT NULL
UNION ALL
SELECT 'escrowpay_maintenance_last_run_failed', pg_catalog.jsonb_build_object('task', task),
       (last_error IS NOT NULL)::integer
  FROM escrow.maintenance_runs
UNION ALL
SELECT 'escrowpay_maintenance_failures_total', pg_catalog.jsonb_build_object('task', task),
       failures
  FROM escrow.maintenance_runs
UNION ALL
SELECT 'escrowpay_maintenance_last_processed', pg_catalog.jsonb_build_object('task', task),
       last_processed
  FROM escrow.maintenance_runs WHERE last_processed IS NOT NULL
UNION ALL
SELECT 'escrowpay_idempotency_keys_expired', '{}'::jsonb,
       CASE WHEN st.idempotency_retention > 0
            THEN (SELECT count(*) FROM escrow.idempotency_keys k
                   WHERE k.created_at < pg_catalog.now()
                                        - pg_catalog.make_interval(secs => st.idempotency_retention))
            ELSE 0 END
  FROM settings st
UNION ALL
SELECT 'escrowpay_checkpoint_age_seconds', '{}'::jsonb,
       round(extract(epoch FROM pg_catalog.clock_timestamp() - max(c.created_at)), 3)
  FROM escrow.checkpoints c
HAVING max(c.created_at) IS NOT NULL;
COMMENT ON VIEW escrow.metrics IS
    'Operational metrics as (metric, labels, value) rows for postgres_exporter: open, expiring and expired holds, deals per stage and past their deadline, overdue invoices and loans, the background worker''s lag and failures per task, idempotency keys past their retention, the age of the last signed checkpoint';

GRANT SELECT ON escrow.metrics TO escrow_admin, escrow_auditor;
