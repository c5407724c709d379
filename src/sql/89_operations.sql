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
