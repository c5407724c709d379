#!/bin/bash
# bench/checkpoint_cost.sh -- what one escrow.checkpoint() costs, in
# figures the machine's load does not change: the CPU time of the backend
# that runs it (/proc/<pid>/stat), the WAL it writes, and the size of the
# anchor tables, beside its wall time.  For each build (CHECKPOINT_BINDIRS,
# bin directories of PostgreSQL installs with escrowpay installed in each;
# default pg_config --bindir), a throwaway cluster gets the same ledger:
# CHECKPOINT_ACCOUNTS accounts (default 2000) and CHECKPOINT_PRELOAD
# transfers between them (default 200000) inserted straight into
# escrow.transfers and sealed, then CHECKPOINT_ROUNDS rounds (default 20)
# of CHECKPOINT_BATCH new transfers (default 5000, about what 8 clients of
# hold+capture post between two checkpoints five seconds apart) each sealed
# by a checkpoint.  Prints the mean per checkpoint and per sealed transfer.
# Must run as root.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/cluster.sh

BINDIRS=${CHECKPOINT_BINDIRS:-$(pg_config --bindir)}
ACCOUNTS=${CHECKPOINT_ACCOUNTS:-2000}
PRELOAD=${CHECKPOINT_PRELOAD:-200000}
ROUNDS=${CHECKPOINT_ROUNDS:-20}
BATCH=${CHECKPOINT_BATCH:-5000}
ORIG_PATH=$PATH

for b in $BINDIRS; do
  export PATH=$b:$ORIG_PATH
  PG_BINDIR=$b
  CLUSTER_DIR=""
  cluster_start >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE cp"
  psql -X -q -At -v ON_ERROR_STOP=1 -d cp <<SQL
CREATE EXTENSION escrowpay;
INSERT INTO escrow.accounts (id, owner, kind, currency)
SELECT g, 'cp-' || g, 'system', 'USD' FROM generate_series(2, $ACCOUNTS + 1) g;
SELECT setval(pg_get_serial_sequence('escrow.accounts', 'id'), $ACCOUNTS + 1) \\g /dev/null
-- transfers a..b between random accounts, a millisecond apart
CREATE FUNCTION pg_temp.post(a bigint, b bigint) RETURNS void LANGUAGE sql AS \$\$
  INSERT INTO escrow.transfers (id, kind, debit_account, credit_account, amount, created_at)
  SELECT g, 'transfer', d, CASE WHEN c >= d THEN c + 1 ELSE c END, 1,
         timestamptz '2026-01-01' + g * interval '1 ms'
    FROM generate_series(a, b) g,
         LATERAL (SELECT 2 + (g * 2654435761) % $ACCOUNTS AS d, 2 + (g * 40503) % ($ACCOUNTS - 1) AS c) r;
  SELECT setval('escrow.transfer_id_seq', b);
\$\$;
SELECT pg_temp.post(1, $PRELOAD) \\g /dev/null
VACUUM ANALYZE;
SELECT escrow.checkpoint() \\g /dev/null
VACUUM ANALYZE;
-- the backend's CPU time in ms (utime + stime, clock ticks of 10 ms)
CREATE FUNCTION pg_temp.cpu_ms() RETURNS bigint LANGUAGE sql AS \$\$
  SELECT (split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint) * 10
    FROM (SELECT split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2) AS s) x;
\$\$;
CREATE TEMP TABLE cost (round int, cpu_ms bigint, wall_ms numeric, wal_bytes numeric);
DO \$\$
DECLARE cpu bigint; t timestamptz; lsn pg_lsn; n bigint := $PRELOAD;
BEGIN
  FOR r IN 1 .. $ROUNDS LOOP
    PERFORM pg_temp.post(n + 1, n + $BATCH);
    n := n + $BATCH;
    cpu := pg_temp.cpu_ms(); t := clock_timestamp(); lsn := pg_current_wal_insert_lsn();
    PERFORM escrow.checkpoint();
    INSERT INTO cost VALUES (r, pg_temp.cpu_ms() - cpu,
                             extract(epoch FROM clock_timestamp() - t) * 1000,
                             pg_current_wal_insert_lsn() - lsn);
    COMMIT;
  END LOOP;
END \$\$;
SELECT format('%s: %s checkpoints of %s transfers (%s accounts, %s before): CPU %s ms (%s us per transfer), '
              'wall %s ms, WAL %s bytes per transfer; anchors: %s rows in balance_anchors, %s in open_balance_anchors, %s',
              '$b', count(*), $BATCH, $ACCOUNTS, $PRELOAD, round(avg(cpu_ms)), round(avg(cpu_ms) * 1000 / $BATCH, 1),
              round(avg(wall_ms)), round(avg(wal_bytes) / $BATCH),
              (SELECT count(*) FROM escrow.balance_anchors),
              CASE WHEN to_regclass('escrow.open_balance_anchors') IS NULL THEN '(no such table)'
                   ELSE (xpath('/row/c/text()',
                               query_to_xml('SELECT count(*) AS c FROM escrow.open_balance_anchors',
                                            false, true, '')))[1]::text END,
              pg_size_pretty(pg_total_relation_size('escrow.balance_anchors')
                             + coalesce(pg_total_relation_size(to_regclass('escrow.open_balance_anchors')), 0)))
  FROM cost;
SQL
  cluster_stop
done
